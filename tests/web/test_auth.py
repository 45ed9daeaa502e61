"""Logging in and out: local passwords, rate limits across workers, idle timeout, OpenID Connect."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import time_machine
from argon2 import PasswordHasher, profiles
from flask import jsonify, request
from sqlalchemy import func, select, update

from elevflow.engine.org import logins, passwords
from elevflow.engine.storage.models import LoginAttempt, User
from elevflow.webui import extensions, sessions

from .conftest import PASSWORD, PEOPLE, csrf, login, post, text


def test_login_with_the_right_password_opens_the_inbox(client):
    response = login(client, "teacher")
    assert response.status_code == 302 and response.headers["Location"] == "/uppgifter"
    page = client.get("/uppgifter")
    assert page.status_code == 200 and "Teacher" in text(page)


def test_a_wrong_password_is_refused_in_swedish(client):
    response = login(client, "teacher", "not the password at all")
    assert response.status_code == 200
    assert "Fel användarnamn eller lösenord." in text(response)
    assert client.get("/uppgifter").status_code == 302


def test_an_unknown_user_is_refused_with_the_same_message_after_the_same_work(client, monkeypatch):
    checked: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            checked.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(extensions.state(client.application).engine, "hasher",
                        Counting.from_parameters(profiles.CHEAPEST))
    response = login(client, "nobody.here", PASSWORD)
    assert "Fel användarnamn eller lösenord." in text(response)
    assert len(checked) == 1  # an argon2 verification ran, against the dummy hash


def test_an_inactive_user_cannot_log_in(client, engine):
    with engine.db.write() as s:
        s.execute(update(User).where(User.username == "teacher").values(active=False))
    assert "Fel användarnamn eller lösenord." in text(login(client, "teacher"))


def test_after_five_failures_even_the_right_password_is_refused(client, engine):
    for _ in range(5):
        assert login(client, "teacher", "wrong password!").status_code == 200
    response = login(client, "teacher")
    assert response.status_code == 429
    assert "För många misslyckade inloggningar" in text(response)
    with engine.db.read() as s:
        rows = s.scalars(select(LoginAttempt).where(LoginAttempt.username == "teacher")).all()
    assert len(rows) == 6 and not any(r.success for r in rows)


def test_the_username_limit_counts_across_workers_and_case(make_app):
    first, second = make_app().test_client(), make_app().test_client()  # two apps: two workers
    for i in range(5):
        login(first if i % 2 else second, "Teacher" if i % 2 else "teacher", "wrong password!")
    assert login(first, "teacher").status_code == 429


def test_the_limit_lifts_when_the_window_has_passed(client):
    with time_machine.travel(datetime.now(timezone.utc) - timedelta(minutes=20), tick=False):
        for _ in range(5):
            login(client, "teacher", "wrong password!")
    assert login(client, "teacher").status_code == 302


def test_a_success_clears_the_count_of_earlier_failures(client):
    for _ in range(4):
        login(client, "teacher", "wrong password!")
    assert login(client, "teacher").status_code == 302
    client.post("/logga-ut", data={"csrf_token": csrf(client, "/uppgifter")})
    for _ in range(4):
        login(client, "teacher", "wrong password!")
    assert login(client, "teacher").status_code == 302


def test_too_many_failures_from_one_address_are_refused(make_app):
    client = make_app(LOGIN_ATTEMPTS_PER_ADDRESS=3).test_client()
    for username in ("mentor", "rektor", "outsider"):
        login(client, username, "wrong password!")
    assert login(client, "teacher").status_code == 429
    elsewhere = client.application.test_client()
    response = login(elsewhere, "teacher", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302


def test_attempts_refused_while_locked_out_do_not_extend_the_lockout(client):
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            login(client, "teacher", "wrong password!")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):  # someone keeps trying
        for password in ["wrong password!"] * 5 + [PASSWORD] * 5:
            assert login(client, "teacher", password).status_code == 429
    with time_machine.travel(start + timedelta(minutes=16), tick=False):  # the five failures are old now
        assert login(client, "teacher").status_code == 302


def test_an_addresss_lockout_ends_with_its_window_however_long_it_is_tried(make_app, engine):
    client = make_app(LOGIN_ATTEMPTS_PER_ADDRESS=3).test_client()
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    with time_machine.travel(start, tick=False):
        for username in ("mentor", "rektor", "outsider"):
            login(client, username, "wrong password!")
    for minutes in (5, 10, 14):  # a busy school behind one address: everyone is refused meanwhile
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            for username in PEOPLE:
                assert login(client, username).status_code == 429
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert login(client, "teacher").status_code == 302
    with engine.db.read() as s:
        refused = s.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.refused))
    assert refused == 15  # kept in the security log as refused, not as failures


def test_logins_cut_off_by_a_worker_crash_count_only_while_they_could_still_be_running(app, client, engine):
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    with time_machine.travel(start, tick=False):
        for _ in range(6):  # what six workers killed while checking the password leave behind
            logins.record(engine, "teacher", "127.0.0.1", None)
    with time_machine.travel(start + logins.IN_FLIGHT / 2, tick=False):  # they may still be checking
        assert login(client, "teacher").status_code == 429
    with time_machine.travel(start + logins.IN_FLIGHT + timedelta(seconds=1), tick=False):
        assert login(client, "teacher").status_code == 302


def test_an_outdated_hash_is_upgraded_at_login(client, engine, monkeypatch):
    app_engine = extensions.state(client.application).engine
    monkeypatch.setattr(app_engine, "hasher", PasswordHasher(time_cost=1, memory_cost=16, parallelism=1))
    with engine.db.read() as s:
        before = s.scalar(select(User.password_hash).where(User.username == "teacher"))
    assert login(client, "teacher").status_code == 302
    with engine.db.read() as s:
        after = s.scalar(select(User.password_hash).where(User.username == "teacher"))
    assert after != before and "m=16" in after and passwords.verify_password(app_engine, after, PASSWORD)


def test_the_session_ends_after_the_idle_timeout(client):
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        login(client, "teacher")
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/uppgifter").status_code == 200  # activity: the clock restarts
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert client.get("/uppgifter").status_code == 200
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        response = client.get("/uppgifter")
        assert response.status_code == 302 and response.headers["Location"].startswith("/logga-in")
        page = client.get(response.headers["Location"])
        assert "inte har gjort något på 30 minuter" in text(page)


def test_a_user_made_inactive_is_logged_out_at_the_next_request(client, engine):
    login(client, "teacher")
    with engine.db.write() as s:
        s.execute(update(User).where(User.username == "teacher").values(active=False))
    assert client.get("/uppgifter").status_code == 302


def test_logout_ends_the_session(client):
    login(client, "teacher")
    response = post(client, "/logga-ut")
    assert response.status_code == 302
    assert client.get("/uppgifter").status_code == 302


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(client):
    response = client.get("/aviseringar")
    assert response.headers["Location"] == "/logga-in?next=/aviseringar"
    token = csrf(client)
    back = client.post("/logga-in", data={"username": "teacher", "password": PASSWORD, "csrf_token": token,
                                          "next": "/aviseringar"})
    assert back.headers["Location"] == "/aviseringar"
    post(client, "/logga-ut")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        token = csrf(client)
        away = client.post("/logga-in", data={"username": "teacher", "password": PASSWORD,
                                              "csrf_token": token, "next": evil})
        assert away.headers["Location"] == "/uppgifter", evil
        post(client, "/logga-ut")


def test_reauthentication_renews_the_recent_authentication_time(make_app):
    app = make_app()

    def probe() -> Any:  # what signing will do: ask for the password again unless it was given lately
        given = request.form.get("password")
        return jsonify(ok=sessions.reauthenticate(given) if given else None,
                       within_10=sessions.recently_authenticated(10),
                       within_30=sessions.recently_authenticated(30))

    app.add_url_rule("/prov", "probe", sessions.login_required(probe), methods=["POST"])
    client = app.test_client()
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        login(client, "teacher")
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert post(client, "/prov").json == {"ok": None, "within_10": False, "within_30": True}
        assert post(client, "/prov", {"password": "wrong password!"}).json["ok"] is False
        assert post(client, "/prov", {"password": PASSWORD}).json == {"ok": True, "within_10": True,
                                                                       "within_30": True}


# --- OpenID Connect --------------------------------------------------------------------------------------

class FakeProvider:
    """Stands in for Authlib's client: sends the browser off, and later returns these claims."""

    def __init__(self, claims: dict[str, Any] | Exception):
        self.claims = claims
        self.redirected_to: str | None = None

    def authorize_redirect(self, redirect_uri: str) -> Any:
        from flask import redirect
        self.redirected_to = redirect_uri
        return redirect("https://idp.example/authorize?state=xyz")

    def authorize_access_token(self) -> dict[str, Any]:
        if isinstance(self.claims, Exception):
            raise self.claims
        return {"access_token": "t", "userinfo": self.claims}


def _oidc_app(make_app, claims):
    provider = FakeProvider(claims)
    app = make_app(OIDC_ISSUER="https://idp.example", OIDC_CLIENT=provider)
    return app, provider


def test_the_provider_logs_in_the_person_with_that_eppn(make_app, engine):
    with engine.db.write() as s:
        s.execute(update(User).where(User.username == "teacher").values(eppn="tea@ekskolan.example"))
    app, provider = _oidc_app(make_app, {"eppn": "tea@ekskolan.example", "auth_time": 1_700_000_000})
    client = app.test_client()
    assert "Logga in med kommunens inloggning" in text(client.get("/logga-in"))
    start = client.get("/logga-in/oidc?next=/aviseringar")
    assert start.status_code == 302 and start.headers["Location"].startswith("https://idp.example/")
    assert provider.redirected_to == "http://localhost:5000/logga-in/oidc/svar"
    back = client.get("/logga-in/oidc/svar?code=c&state=xyz")
    assert back.headers["Location"] == "/aviseringar"
    assert "Teacher" in text(client.get("/uppgifter"))


def test_preferred_username_is_matched_against_eppn_never_the_local_username(make_app, engine):
    app, _ = _oidc_app(make_app, {"preferred_username": "teacher"})
    client = app.test_client()
    client.get("/logga-in/oidc")
    back = client.get("/logga-in/oidc/svar")
    assert back.headers["Location"] == "/logga-in"
    assert "har inget konto i Elevflow" in text(client.get("/logga-in"))
    with engine.db.write() as s:
        s.execute(update(User).where(User.username == "mentor").values(eppn="teacher"))
    client.get("/logga-in/oidc")
    client.get("/logga-in/oidc/svar")
    assert "Mentor" in text(client.get("/uppgifter"))


def test_unknown_and_inactive_people_are_refused_and_logged(make_app, engine):
    with engine.db.write() as s:
        s.execute(update(User).where(User.username == "teacher").values(eppn="tea@x", active=False))
    for claims in ({"eppn": "stranger@x"}, {"eppn": "tea@x"}, {}):
        app, _ = _oidc_app(make_app, claims)
        client = app.test_client()
        client.get("/logga-in/oidc")
        assert client.get("/logga-in/oidc/svar").headers["Location"] == "/logga-in"
        assert client.get("/uppgifter").status_code == 302
    with engine.db.read() as s:
        failed = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
        assert s.scalar(failed) == 3


def test_a_failed_provider_answer_shows_a_message(make_app):
    app, _ = _oidc_app(make_app, RuntimeError("state mismatch"))
    client = app.test_client()
    client.get("/logga-in/oidc")
    assert client.get("/logga-in/oidc/svar").headers["Location"] == "/logga-in"
    assert "misslyckades" in text(client.get("/logga-in"))


def test_without_a_provider_its_pages_do_not_exist(client):
    assert client.get("/logga-in/oidc").status_code == 404
    assert client.get("/logga-in/oidc/svar").status_code == 404
    assert "kommunens inloggning" not in text(client.get("/logga-in"))


def test_a_username_holding_a_nul_character_is_a_wrong_login_that_is_counted(client, engine):
    response = login(client, "teach\x00er")
    assert response.status_code == 200 and "Fel användarnamn eller lösenord." in text(response)
    with engine.db.read() as s:
        [row] = s.scalars(select(LoginAttempt)).all()
    assert (row.username, row.success) == ("teach\ufffder", False)
