"""Security headers, CSRF, session cookie flags and the secret key the app will not start without."""
from __future__ import annotations

import pytest

from elevflow.engine.errors import ElevflowError
from elevflow.webui import close_app, create_app

from .conftest import SECRET, csrf, login, post


def test_every_response_carries_the_security_headers(client):
    login(client, "teacher")
    for path in ("/logga-in", "/uppgifter", "/static/elevflow.css", "/no-such-page"):
        response = client.get(path)
        response.close()  # a static file is streamed: close it
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "camera=()" in headers["Permissions-Policy"]
    assert client.get("/uppgifter").headers["Cache-Control"] == "no-store"


def test_pages_use_no_inline_script_or_style_and_nothing_from_elsewhere(client):
    login(client, "teacher")
    for path in ("/logga-in", "/uppgifter", "/elever?q=Alva", "/aviseringar"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page and "<style" not in page
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_a_form_without_its_csrf_token_is_refused(client, open_task):
    assert client.post("/logga-in", data={"username": "teacher", "password": "x" * 12}).status_code == 400
    login(client, "teacher")
    refused = client.post(f"/uppgifter/{open_task.id}/ta")
    assert refused.status_code == 400 and "Formuläret hade gått ut" in refused.get_data(as_text=True)
    forged = client.post(f"/uppgifter/{open_task.id}/ta", data={"csrf_token": "forged"})
    assert forged.status_code == 400


def test_htmx_requests_may_send_the_token_in_a_header(client, open_task):
    login(client, "teacher")
    token = csrf(client, "/uppgifter")
    response = client.post(f"/uppgifter/{open_task.id}/ta",
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


def test_the_session_cookie_is_httponly_and_samesite(client):
    response = login(client, "teacher")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_outside_tests_and_local_http_the_cookie_is_secure(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "BASE_URL": "https://elevflow.example",
                      "EMBEDDED_SCHEDULER": False})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SESSION_COOKIE_NAME"] == "__Host-elevflow"
        headers = app.test_client().get("/logga-in", base_url="https://elevflow.example").headers
        assert headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        close_app(app)


def test_the_demo_on_localhost_may_use_plain_http(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "BASE_URL": "http://127.0.0.1:5000",
                      "EMBEDDED_SCHEDULER": False})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is False
    finally:
        close_app(app)


def test_the_app_will_not_start_without_a_secret_key(db_url, monkeypatch):
    monkeypatch.delenv("ELEVFLOW_SECRET_KEY", raising=False)
    monkeypatch.delenv("ELEVFLOW_SECRET_KEY_FILE", raising=False)
    with pytest.raises(ElevflowError, match="ELEVFLOW_SECRET_KEY is not set"):
        create_app({"DATABASE_URL": db_url, "EMBEDDED_SCHEDULER": False})


def test_the_secret_key_may_come_from_a_file_and_must_be_long(db_url, monkeypatch, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40 + "\n")
    monkeypatch.delenv("ELEVFLOW_SECRET_KEY", raising=False)
    monkeypatch.setenv("ELEVFLOW_SECRET_KEY_FILE", str(key_file))
    app = create_app({"DATABASE_URL": db_url, "EMBEDDED_SCHEDULER": False})
    try:
        assert app.secret_key == "k" * 40
    finally:
        close_app(app)
    monkeypatch.setenv("ELEVFLOW_SECRET_KEY", "too short")
    with pytest.raises(ElevflowError, match="at least 32 characters"):
        create_app({"DATABASE_URL": db_url, "EMBEDDED_SCHEDULER": False})


def test_logout_needs_a_post_with_the_token(client):
    login(client, "teacher")
    assert client.get("/logga-ut").status_code == 405
    assert client.post("/logga-ut").status_code == 400
    assert post(client, "/logga-ut").status_code == 302
