"""The integration API (/api/v1) as another system uses it: with a user's API token, the same rights, the
same need-to-know and the same access log as that user in the web app; problem details for every refusal;
a document that describes exactly its routes."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from conftest import FIXTURES
from flask import url_for
from sqlalchemy import select

from elevflow.engine.org import apitokens, passwords
from elevflow.engine.org import records as org
from elevflow.engine.org.apitokens import SCOPES
from elevflow.engine.runtime import tasks
from elevflow.engine.storage.models import AccessLogEntry, User
from elevflow.webui.api import spec

from .conftest import PASSWORD, login, text
from .test_authorization import (
    OTHER_ROLES,
    PERSONAS,
    ROUTES,
    api_bodies,
    outcome,
    samples_for,
    visit_every_route,
)

API_ROUTES = {route: row for route, row in ROUTES.items() if route[0].startswith("api.")}
#: The page each API operation mirrors: the token must see there what the user sees on the page.
TWINS = {
    ("api.get_case", "GET"): ("cases.case", "GET"),
    ("api.case_audit", "GET"): ("cases.case", "GET"),
    ("api.list_cases", "GET"): ("cases.index", "GET"),
    ("api.start_case", "POST"): ("pupils.start", "POST"),
    ("api.get_decision", "GET"): ("cases.decision", "GET"),
    ("api.case_access_log", "GET"): ("pupils.access", "GET"),
    ("api.inbox", "GET"): ("inbox.index", "GET"),
    ("api.get_task", "GET"): ("tasks.task", "GET"),
    ("api.complete", "POST"): ("tasks.submit", "POST"),
}


def token_for(engine: Any, username: str, scopes: Any = tuple(SCOPES), **kwargs: Any) -> str:
    kwargs.setdefault("rate_limit", 100_000)
    return apitokens.create_token(
        engine, username, f"test {username}", list(scopes), by=None, system_only=False, **kwargs
    )[1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def visit_api(app: Any, secret: str, samples: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Every API route with the token: its outcome, as test_authorization.outcome reads it."""
    seen = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if not rule.endpoint.startswith("api."):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            with app.test_request_context():
                url = url_for(rule.endpoint, **{name: samples[name] for name in rule.arguments})
            client = app.test_client()
            if method == "POST":
                response = client.post(url, json=api_bodies(samples)[rule.endpoint], headers=bearer(secret))
            else:
                response = client.get(url, headers=bearer(secret))
            assert response.status_code < 500, (rule.endpoint, response.get_data(as_text=True))
            seen[(rule.endpoint, method)] = outcome(response)
            response.close()
    return seen


def test_the_document_describes_every_route_of_the_api_and_no_other(app):
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(spec.PREFIX + "/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    described = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    assert document["openapi"] == "3.1.0"
    assert routes == described
    for path, ops in document["paths"].items():
        for op in ops.values():
            assert {"200", "201"} & set(op["responses"]) and op["operationId"], path


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_each_users_token_sees_exactly_what_the_user_sees_in_the_web_app(
    app, engine, people, open_task, drafts, persona
):
    samples = samples_for(people, open_task, drafts)
    web = visit_every_route(app, persona, samples)  # the pages with the user's session (the route table)
    secret = token_for(engine, persona)
    api = visit_api(app, secret, samples)
    column = PERSONAS.index(persona)
    expected = {route: row[column] for route, row in API_ROUTES.items()}
    expected[("api.import_ss12000", "POST")] = (
        "ok"  # a token given organisation:import may (it is refused 422)
    )
    assert api == expected
    for route, twin in TWINS.items():
        assert api[route] == web[twin], (route, twin)


@pytest.mark.parametrize("username", sorted(OTHER_ROLES))
def test_the_other_roles_tokens_see_what_they_see_in_the_web_app(
    app, engine, people, open_task, drafts, username
):
    role, like, differences = OTHER_ROLES[username]
    if username != "mentor":  # the mentor is one of the fixture's people already
        with engine.db.write() as s:
            user = org.add_user(s, username, username.title(), f"{username}@example.se")
            org.assign_role(s, user.id, people.unit, role)
        passwords.set_password(engine, username, PASSWORD)
    samples = samples_for(people, open_task, drafts)
    web = visit_every_route(app, username, samples)
    api = visit_api(app, token_for(engine, username), samples)
    column = PERSONAS.index(like)
    expected = {route: differences.get(route, row[column]) for route, row in API_ROUTES.items()}
    expected[("api.import_ss12000", "POST")] = "ok"
    assert api == expected
    for route, twin in TWINS.items():
        assert api[route] == web[twin], (route, twin)


@pytest.mark.parametrize("persona", ["teacher", "specialpedagog", "rektor", "outsider"])
def test_a_tokens_lists_name_the_cases_and_tasks_the_users_pages_list(app, engine, people, chain, persona):
    from elevflow.engine import start_case

    for by in (people.teacher, people.rektor):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=by)
    start_case(engine, "stodkedja", pupil_id=people.other_pupil, by=people.outsider)
    client = app.test_client()
    assert login(client, persona).status_code == 302
    page_cases = {int(i) for i in re.findall(r'href="/arenden/(\d+)"', text(client.get("/arenden")))}
    page_tasks = set(re.findall(r'href="/uppgifter/([0-9a-f-]{36})"', text(client.get("/uppgifter"))))
    headers = bearer(token_for(engine, persona))
    api_cases = {c["id"] for c in app.test_client().get("/api/v1/cases", headers=headers).get_json()["items"]}
    api_tasks = {t["id"] for t in app.test_client().get("/api/v1/tasks", headers=headers).get_json()["items"]}
    assert api_cases == page_cases and api_tasks == page_tasks
    assert page_cases or persona == "outsider"


def _log(engine: Any) -> list[tuple[int, int | None, str, bool, str]]:
    with engine.db.read() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(
                    AccessLogEntry.user_id,
                    AccessLogEntry.case_id,
                    AccessLogEntry.action,
                    AccessLogEntry.allowed,
                    AccessLogEntry.detail,
                ).order_by(AccessLogEntry.id)
            ).all()
        ]


def test_an_api_read_writes_an_access_log_row_allowed_or_not(app, engine, people, open_task):
    teacher, outsider = token_for(engine, "teacher"), token_for(engine, "outsider")
    before = _log(engine)
    seen = app.test_client().get(f"/api/v1/cases/{open_task.case_id}", headers=bearer(teacher))
    assert seen.status_code == 200 and seen.get_json()["pupil_name"] == "Alva Andersson"
    refused = app.test_client().get(f"/api/v1/cases/{open_task.case_id}", headers=bearer(outsider))
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    task = app.test_client().get(f"/api/v1/tasks/{open_task.id}", headers=bearer(teacher))
    assert task.status_code == 200
    audit = app.test_client().get(f"/api/v1/cases/{open_task.case_id}/audit", headers=bearer(teacher))
    assert [e["kind"] for e in audit.get_json()["items"]][:2] == ["case_started", "task_created"]
    new = _log(engine)[len(before) :]
    assert [(u, c, a, ok) for u, c, a, ok, _d in new] == [
        (people.teacher, open_task.case_id, "view_case", True),
        (people.outsider, open_task.case_id, "view_case", False),
        (people.teacher, open_task.case_id, "view_task", True),
        (people.teacher, open_task.case_id, "export_audit", True),
    ]
    assert new[0][4] == f"API {teacher[: apitokens.SHOWN]}"


def test_completing_a_task_conflicts_409_and_refused_data_422_as_problem_details(
    app, engine, people, open_task
):
    headers = bearer(token_for(engine, "teacher"))
    client = app.test_client()
    got = client.get(f"/api/v1/tasks/{open_task.id}", headers=headers)
    etag = got.headers["ETag"]
    assert got.get_json()["form"]["required"] == ["anmalan_datum", "beskrivning"]
    url = f"/api/v1/tasks/{open_task.id}/complete"

    missing = client.post(url, json={"data": {}}, headers=headers)
    assert (
        missing.status_code == 428
        and missing.get_json()["type"] == "urn:elevflow:problem:api.precondition_required"
    )
    wrong = client.post(url, json={"data": {"beskrivning": "kort"}}, headers={**headers, "If-Match": etag})
    body = wrong.get_json()
    assert wrong.status_code == 422 and wrong.mimetype == "application/problem+json"
    assert body["status"] == 422 and set(body["errors"]) == {"anmalan_datum", "beskrivning"}
    stale = client.post(
        url,
        json={"data": {"anmalan_datum": "2026-11-02", "beskrivning": "Svårt att läsa."}},
        headers={**headers, "If-Match": '"99"'},
    )
    body = stale.get_json()
    assert stale.status_code == 409 and body["code"].startswith("conflict.")
    assert body["type"] == "urn:elevflow:problem:" + body["code"] and body["detail"]
    assert tasks.get_task(engine, open_task.id).state == "ready"  # nothing of the refused ones was saved

    done = client.post(
        url,
        json={"data": {"anmalan_datum": "2026-11-02", "beskrivning": "Svårt att läsa."}},
        headers={**headers, "If-Match": etag},
    )
    assert done.status_code == 200 and done.get_json()["state"] == "completed"
    assert done.headers["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    again = client.post(
        url,
        json={"data": {"anmalan_datum": "2026-11-02", "beskrivning": "Svårt att läsa."}, "row_version": 99},
        headers=headers,
    )
    assert again.status_code == 404  # done: no longer a task the teacher may complete


def test_a_token_is_narrowed_to_its_scopes_and_units_and_ends_when_revoked(app, engine, people, open_task):
    client = app.test_client()
    reader = token_for(engine, "teacher", ["cases:read"])
    assert client.get(f"/api/v1/cases/{open_task.case_id}", headers=bearer(reader)).status_code == 200
    refused = client.get("/api/v1/tasks", headers=bearer(reader))
    assert refused.status_code == 403 and "tasks:read" in refused.get_json()["detail"]
    with engine.db.write() as s:  # the rektor works at both units; a token for the other one only
        org.assign_role(s, people.rektor, people.other_unit, "rektor")
    elsewhere = token_for(engine, "rektor", unit_ids=[people.other_unit])
    assert client.get(f"/api/v1/cases/{open_task.case_id}", headers=bearer(elsewhere)).status_code == 404
    assert client.get("/api/v1/cases", headers=bearer(elsewhere)).get_json()["items"] == []
    everywhere = token_for(engine, "rektor")
    assert [c["id"] for c in client.get("/api/v1/cases", headers=bearer(everywhere)).get_json()["items"]] == [
        open_task.case_id
    ]
    info = next(t for t in apitokens.tokens(engine) if reader.startswith(t.prefix))
    assert info.last_used_at is not None
    apitokens.revoke_token(engine, info.id, by=None)
    gone = client.get(f"/api/v1/cases/{open_task.case_id}", headers=bearer(reader))
    assert gone.status_code == 401 and gone.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/cases", headers=bearer("elv_not-a-token")).status_code == 401
    with pytest.raises(ValueError):
        token_for(engine, "teacher", unit_ids=[people.other_unit])  # not a unit where the teacher works


def test_only_system_accounts_get_tokens_unless_the_command_line_says_otherwise(engine, people):
    with pytest.raises(apitokens.PermissionDeniedError):
        apitokens.create_token(engine, "teacher", "x", ["cases:read"], by=None)
    with engine.db.write() as s:
        s.execute(select(User)).scalars()
        account = org.add_user(s, "e-tjanst", "E-tjänst", None)
        account.system_account = True
    info, secret = apitokens.create_token(engine, "e-tjanst", "frånvaro", ["cases:start"], by=None)
    assert secret.startswith(info.prefix) and len(secret) > 40
    with engine.db.read() as s:
        from elevflow.engine.storage.models import ApiToken

        stored = s.get(ApiToken, info.id)
    assert secret not in (stored.secret_sha256, stored.prefix) and len(stored.secret_sha256) == 64


def test_a_token_past_its_rate_limit_is_answered_429_with_retry_after(app, engine, people):
    headers = bearer(token_for(engine, "teacher", rate_limit=3))
    client = app.test_client()
    answers = [client.get("/api/v1/routines", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert answers[-1].get_json()["type"] == "urn:elevflow:problem:api.rate_limited"


def test_the_browser_session_works_and_its_unsafe_requests_need_the_csrf_header(app, engine, people):
    client = app.test_client()
    assert client.get("/api/v1/cases").status_code == 401
    assert login(client, "teacher").status_code == 302
    assert client.get("/api/v1/cases").status_code == 200
    start = {"routine": "stodkedja", "pupil_id": people.pupil}
    refused = client.post("/api/v1/cases", json=start)
    assert refused.status_code == 403 and "X-CSRFToken" in refused.get_json()["detail"]
    from .conftest import csrf

    started = client.post("/api/v1/cases", json=start, headers={"X-CSRFToken": csrf(client, "/uppgifter")})
    assert (
        started.status_code == 201
        and started.headers["Location"] == f"/api/v1/cases/{started.get_json()['id']}"
    )


def test_a_case_started_through_the_api_is_the_engines_own(app, engine, people, chain):
    headers = bearer(token_for(engine, "teacher"))
    client = app.test_client()
    started = client.post(
        "/api/v1/cases", json={"routine": "stodkedja", "pupil_id": people.pupil}, headers=headers
    )
    case_id = started.get_json()["id"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    assert case["status"] == "running" and [t["bpmn_id"] for t in case["tasks"]] == ["Task_anmalan"]
    inbox = client.get("/api/v1/tasks?limit=1", headers=headers).get_json()
    assert [t["case_id"] for t in inbox["items"]] == [case_id] and inbox["next"] is None
    pool = client.get(f"/api/v1/units/{people.unit}/tasks", headers=headers).get_json()
    assert [t["case_id"] for t in pool["items"]] == [case_id]
    bad = client.post("/api/v1/cases", json={"routine": "nej", "pupil_id": people.pupil}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"routine": ["unknown"]}
    assert client.post("/api/v1/cases", data="x", headers=headers).status_code == 415
    others = client.post(
        "/api/v1/cases", json={"routine": "stodkedja", "pupil_id": people.other_pupil}, headers=headers
    )
    assert others.status_code == 404


def test_cases_are_listed_in_pages_linked_by_a_cursor(app, engine, people, chain):
    from elevflow.engine import start_case

    made = [start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher).id for _ in range(5)]
    headers = bearer(token_for(engine, "rektor"))
    client = app.test_client()
    seen, url = [], "/api/v1/cases?limit=2"
    while url:
        answer = client.get(url, headers=headers)
        body = answer.get_json()
        seen += [c["id"] for c in body["items"]]
        assert (answer.headers.get("Link") is not None) == (body["next"] is not None)
        url = body["next"]
    assert seen == sorted(made, reverse=True)
    assert client.get("/api/v1/cases?limit=0", headers=headers).status_code == 400


def test_the_organisation_is_imported_from_ss12000_documents(app, engine, people):
    import json

    folder = FIXTURES / "org" / "ss12000"
    documents = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in folder.glob("*.json")
        if path.stem in ("organisations", "persons", "duties", "groups", "placements")
    }
    headers = bearer(token_for(engine, "rektor", ["organisation:import"]))
    client = app.test_client()
    dry = client.post("/api/v1/organisation/ss12000?dry_run=true", json=documents, headers=headers)
    assert dry.status_code == 200 and dry.get_json()["dry_run"] and dry.get_json()["changed"]
    refused = client.post("/api/v1/organisation/ss12000", json={"persons": []}, headers=headers)
    assert refused.status_code == 422 and refused.get_json()["errors"][""]
    narrowed = bearer(token_for(engine, "rektor", ["organisation:import"], unit_ids=[people.unit]))
    assert client.post("/api/v1/organisation/ss12000", json=documents, headers=narrowed).status_code == 403
    assert date.today()  # the import counts current duties from today


def test_every_error_of_the_api_is_a_problem_document(app, engine, people):
    client = app.test_client()
    for path in ("/api/v1/nothing", "/api/v1/cases/99999999999", "/api/v1/tasks/not-a-uuid"):
        answer = client.get(path, headers=bearer(token_for(engine, "teacher")))
        assert answer.status_code == 404 and answer.mimetype == "application/problem+json", path
        assert answer.get_json()["status"] == 404
    wrong = client.delete("/api/v1/cases", headers=bearer(token_for(engine, "teacher")))
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/tasks/{task_id}/complete" in text(docs)


def test_a_token_narrowed_to_a_unit_pages_past_many_cases_of_other_units(app, engine, people, chain):
    from elevflow.engine import start_case

    with engine.db.write() as s:
        org.assign_role(s, people.rektor, people.other_unit, "rektor")
    mine = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher).id
    for _ in range(45):  # newer, at the other unit: more than one request's rounds scan at limit=1
        start_case(engine, "stodkedja", pupil_id=people.other_pupil, by=people.outsider)
    headers = bearer(token_for(engine, "rektor", unit_ids=[people.unit]))
    seen, url, requests = [], "/api/v1/cases?limit=1", 0
    while url:
        body = app.test_client().get(url, headers=headers).get_json()
        seen += [c["id"] for c in body["items"]]
        url, requests = body["next"], requests + 1
    assert seen == [mine] and requests == 2  # the first page ran out of rounds and said where to go on
