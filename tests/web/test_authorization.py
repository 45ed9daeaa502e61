"""Every route of the app, visited as each kind of person, against a table of who may do what.

A new route must be added to ROUTES, or this test fails: nobody adds a page without deciding who sees it.
Outcomes: "ok" (the view ran: a page, a redirect onward, or a form shown again), "login" (sent to the
login page; the API's 401), "no" (403 or 404, which read the same).

The integration API (/api/v1) is in the table too, visited with the user's own session (JSON bodies and
the X-CSRFToken header, as a browser's script sends them); tests/web/test_api.py visits it with each
user's API token and checks that the token sees exactly what the user sees in the web app.
"""
from __future__ import annotations

from typing import Any

import pytest
from flask import url_for

from elevflow.engine.org import passwords
from elevflow.engine.org import records as org

from .conftest import PASSWORD, csrf, login

PERSONAS = ("anonymous", "teacher", "specialpedagog", "rektor", "outsider")
# (endpoint, method): outcome for anonymous, teacher, specialpedagog, rektor, outsider. The task is the
# first step of a case for a pupil at the teacher's unit, in the Lärare lane, not taken by anyone.
ROUTES: dict[tuple[str, str], tuple[str, str, str, str, str]] = {
    ("static", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    ("auth.login", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    ("auth.login", "POST"): ("ok", "ok", "ok", "ok", "ok"),
    # an operator's probes: no login (/metrics answers this machine, or a token: test_operations.py)
    ("ops.healthz", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    ("ops.readyz", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    ("ops.metrics", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    # logging out sends everyone to the login page
    ("auth.logout", "POST"): ("login", "login", "login", "login", "login"),
    # no OpenID Connect provider is configured in this app, so its pages do not exist
    ("auth.oidc_start", "GET"): ("no", "no", "no", "no", "no"),
    ("auth.oidc_callback", "GET"): ("no", "no", "no", "no", "no"),
    ("auth.language", "POST"): ("ok", "ok", "ok", "ok", "ok"),
    ("auth.keepalive", "POST"): ("login", "ok", "ok", "ok", "ok"),
    ("inbox.home", "GET"): ("login", "ok", "ok", "ok", "ok"),
    ("inbox.index", "GET"): ("login", "ok", "ok", "ok", "ok"),
    ("inbox.save_filter", "POST"): ("login", "ok", "ok", "ok", "ok"),
    # there is no saved filter in this sample (tests/web/test_inbox.py deletes real ones)
    ("inbox.delete_filter", "POST"): ("login", "no", "no", "no", "no"),
    ("tasks.task", "GET"): ("login", "ok", "no", "no", "no"),
    ("tasks.submit", "POST"): ("login", "ok", "no", "no", "no"),
    ("tasks.follow_up", "POST"): ("login", "ok", "no", "no", "no"),
    ("tasks.claim", "POST"): ("login", "ok", "no", "no", "no"),
    ("tasks.release", "POST"): ("login", "ok", "no", "ok", "no"),
    # the case of that task: its starter (the teacher), the unit's student health team and rektor see it
    ("cases.index", "GET"): ("login", "ok", "ok", "ok", "ok"),
    ("cases.case", "GET"): ("login", "ok", "ok", "ok", "no"),
    ("cases.diagram", "GET"): ("login", "ok", "ok", "ok", "no"),
    # the case has no signed decision yet, so the sample is one that does not exist (tests/web/test_cases.py
    # downloads a real one)
    ("cases.decision", "GET"): ("login", "no", "no", "no", "no"),
    # the sample case has no investigation yet, so no utredning document (tests/test_case_documents.py)
    ("cases.case_document", "GET"): ("login", "no", "no", "no", "no"),
    # attaching a file: those who see the case (no file is posted here: the page says so); the sample
    # attachment does not exist (tests/web/test_attachments.py)
    ("attachments.add", "POST"): ("login", "ok", "ok", "ok", "no"),
    ("attachments.download", "GET"): ("login", "no", "no", "no", "no"),
    ("attachments.remove", "POST"): ("login", "no", "no", "no", "no"),
    # only the school nurse or doctor at the unit releases what the medical part recorded (none here)
    ("cases.release_medical", "POST"): ("login", "no", "no", "no", "no"),
    ("pupils.search", "GET"): ("login", "ok", "ok", "ok", "ok"),
    # a pupil's page: anyone working on cases at the pupil's unit (it shows only the cases they may see)
    ("pupils.pupil", "GET"): ("login", "ok", "ok", "ok", "no"),
    ("pupils.access", "GET"): ("login", "no", "no", "ok", "no"),
    ("pupils.start", "POST"): ("login", "ok", "ok", "ok", "no"),
    # a unit-level routine is started for one's own unit only (tests/web/test_unit_cases.py)
    ("pupils.start_for_unit", "POST"): ("login", "ok", "ok", "ok", "no"),
    ("notifications.index", "GET"): ("login", "ok", "ok", "ok", "ok"),
    ("notifications.mark_read", "POST"): ("login", "ok", "ok", "ok", "ok"),
    # quality follow-up: the unit's rektor and student health team (and the huvudman, tests/web/
    # test_quality.py); the sample task is no årshjul check-in, so its report does not exist
    ("quality.index", "GET"): ("login", "no", "ok", "ok", "no"),
    ("quality.export", "GET"): ("login", "no", "ok", "ok", "no"),
    ("quality.process", "GET"): ("login", "no", "ok", "ok", "no"),
    ("quality.diagram", "GET"): ("login", "no", "no", "no", "no"),
    ("quality.check_ins", "GET"): ("login", "no", "ok", "ok", "no"),
    ("quality.report", "GET"): ("login", "no", "no", "no", "no"),
    # routines, drafts and moving cases: process owners only (OTHER_ROLES["processagare"])
    ("routines.index", "GET"): ("login", "no", "no", "no", "no"),
    ("routines.history", "GET"): ("login", "no", "no", "no", "no"),
    ("routines.diff", "GET"): ("login", "no", "no", "no", "no"),
    ("routines.export", "GET"): ("login", "no", "no", "no", "no"),
    ("routines.migration_plan", "GET"): ("login", "no", "no", "no", "no"),
    ("routines.migrate", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.open_draft", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.import_file", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.draft", "GET"): ("login", "no", "no", "no", "no"),
    ("editor.draft_xml", "GET"): ("login", "no", "no", "no", "no"),
    ("editor.save", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.check", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.publish", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.discard", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.form", "GET"): ("login", "no", "no", "no", "no"),
    ("editor.save_form", "POST"): ("login", "no", "no", "no", "no"),
    ("editor.preview_form", "POST"): ("login", "no", "no", "no", "no"),
    # the integration API's administration: the huvudman only (OTHER_ROLES); the samples' token and
    # webhook do not exist (tests/web/test_api_admin.py uses real ones)
    ("admin.index", "GET"): ("login", "no", "no", "no", "no"),
    ("admin.create_token", "POST"): ("login", "no", "no", "no", "no"),
    ("admin.revoke_token", "POST"): ("login", "no", "no", "no", "no"),
    ("admin.subscribe", "POST"): ("login", "no", "no", "no", "no"),
    ("admin.deliveries", "GET"): ("login", "no", "no", "no", "no"),
    ("admin.set_active", "POST"): ("login", "no", "no", "no", "no"),
    ("admin.retry", "POST"): ("login", "no", "no", "no", "no"),
    # the integration API with the user's session: the same rights as the pages it mirrors
    ("api.openapi", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    ("api.docs", "GET"): ("ok", "ok", "ok", "ok", "ok"),
    ("api.list_routines", "GET"): ("login", "ok", "ok", "ok", "ok"),
    ("api.get_routine", "GET"): ("login", "ok", "ok", "ok", "ok"),
    ("api.list_cases", "GET"): ("login", "ok", "ok", "ok", "ok"),  # cases.index
    ("api.start_case", "POST"): ("login", "ok", "ok", "ok", "no"),  # pupils.start
    ("api.get_case", "GET"): ("login", "ok", "ok", "ok", "no"),  # cases.case
    ("api.get_decision", "GET"): ("login", "no", "no", "no", "no"),  # cases.decision
    ("api.case_audit", "GET"): ("login", "ok", "ok", "ok", "no"),  # cases.case
    ("api.case_access_log", "GET"): ("login", "no", "no", "ok", "no"),  # pupils.access
    ("api.inbox", "GET"): ("login", "ok", "ok", "ok", "ok"),  # inbox.index
    ("api.unit_pool", "GET"): ("login", "ok", "ok", "ok", "no"),  # the unit's staff only
    ("api.get_task", "GET"): ("login", "ok", "no", "no", "no"),  # tasks.task
    ("api.complete", "POST"): ("login", "ok", "no", "no", "no"),  # tasks.submit
    # importing the organisation takes a token given organisation:import: never a session
    ("api.import_ss12000", "POST"): ("login", "no", "no", "no", "no"),
}


def registered(app: Any) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def outcome(response: Any) -> str:
    assert response.status_code not in (400, 405, 500), response.status_code
    if response.status_code in (403, 404):
        return "no"
    if response.status_code == 401:
        return "login"
    if response.status_code == 302 and response.headers["Location"].startswith("/logga-in"):
        return "login"
    return "ok"


def test_the_table_names_every_route_and_no_other(app):
    assert registered(app) == set(ROUTES), "add the new route to ROUTES with who may use it"


def visit_every_route(app: Any, persona: str, samples: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Every route of the app as `persona` (a username, or "anonymous"): its outcome per route."""
    data = {("pupils.start", "POST"): {"rutin": "stodkedja"}, ("auth.language", "POST"): {"lang": "sv"},
            ("pupils.start_for_unit", "POST"): {"rutin": "arshjul", "enhet": samples["unit_id"]},
            ("editor.save", "POST"): {"bpmn": samples["draft_bpmn"], "seen": 0},
            ("editor.save_form", "POST"): {"namn": "ny.json", "schema": '{"type": "object"}'},
            ("editor.discard", "POST"): {"bekrafta": "ja"}}
    per_route = {("editor.discard", "POST"): {"draft_id": samples["spare_draft_id"]}}  # the other stays
    query = {("routines.diff", "GET"): {"fran": 1, "till": 1}}
    seen = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            client = app.test_client()
            if persona != "anonymous":
                assert login(client, persona).status_code == 302
            args = {**samples, **per_route.get((rule.endpoint, method), {})}
            with app.test_request_context():
                url = url_for(rule.endpoint, **{name: args[name] for name in rule.arguments},
                              **query.get((rule.endpoint, method), {}))
            if method == "POST" and rule.endpoint.startswith("api."):
                token = csrf(client, "/logga-in" if persona == "anonymous" else "/uppgifter")
                response = client.post(url, json=api_bodies(samples)[rule.endpoint],
                                       headers={"X-CSRFToken": token})
            elif method == "POST":
                token = csrf(client, "/logga-in" if persona == "anonymous" else "/uppgifter")
                fields = data.get((rule.endpoint, method), {})
                response = client.post(url, data={"csrf_token": token, **fields})
            else:
                response = client.get(url)
            response.close()
            seen[(rule.endpoint, method)] = outcome(response)
    return seen


def api_bodies(samples: dict[str, Any]) -> dict[str, Any]:
    """What each API operation that takes a body is sent (tests/web/test_api.py sends the same)."""
    return {"api.start_case": {"routine": "stodkedja", "pupil_id": samples["pupil_id"]},
            "api.complete": {"data": {}, "row_version": 0},
            "api.import_ss12000": {"organisations": [], "persons": [], "duties": []}}


def samples_for(people: Any, open_task: Any, drafts: Any) -> dict[str, Any]:
    draft, spare = drafts
    return {"task_id": open_task.id, "pupil_id": people.pupil, "unit_id": people.unit,
            "filename": "elevflow.css", "token_id": 1, "subscription_id": 1,
            "case_id": open_task.case_id, "decision_id": 1, "filter_id": 1, "key": "stodkedja",
            "kind": "utredning", "attachment_id": 1,
            "version_id": draft.base_version_id, "draft_id": draft.id, "spare_draft_id": spare.id,
            "draft_bpmn": draft.files[draft.main_file]}


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_use_each_route(app, people, open_task, drafts, persona):
    column = PERSONAS.index(persona)
    expected = {route: row[column] for route, row in ROUTES.items()}
    assert visit_every_route(app, persona, samples_for(people, open_task, drafts)) == expected


# The other roles of the domain brief, each at the teacher's unit: like a persona of the table on every
# route, except where named. (The mentor serves the Lärare lane as the teacher does; the student health
# team's members see every case of their unit as the specialpedagog does, but serve no Lärare task; the
# huvudman, holding its role at the unit, sees no case without an escalation, but may start a routine
# for a pupil (or the unit) there, as anyone working at the unit may, and follows the unit's quality
# figures up; the process owner works on routines, never on cases: he neither finds nor starts one for a
# pupil or a unit, and is the only one who edits routines.)
OTHER_ROLES: dict[str, tuple[str, str, dict[tuple[str, str], str]]] = {
    "mentor": ("mentor", "teacher", {}),
    "kurator": ("kurator", "specialpedagog", {}),
    "skolskoterska": ("skolskoterska", "specialpedagog", {}),
    "skolpsykolog": ("skolpsykolog", "specialpedagog", {}),
    "huvudman": ("huvudman", "outsider", {("pupils.start", "POST"): "ok", ("pupils.pupil", "GET"): "ok",
                                          ("api.start_case", "POST"): "ok",
                                          ("api.unit_pool", "GET"): "ok",
                                          ("admin.index", "GET"): "ok", ("admin.create_token", "POST"): "ok",
                                          ("admin.subscribe", "POST"): "ok",
                                          ("pupils.start_for_unit", "POST"): "ok", **{
        (route, "GET"): "ok" for route in ("quality.index", "quality.export", "quality.process",
                                           "quality.check_ins")}}),
    "processagare": ("processagare", "outsider", {("api.unit_pool", "GET"): "ok", **{
        route: "ok" for route in ROUTES if route[0].startswith(("routines.", "editor."))}}),
}


@pytest.mark.parametrize("username", sorted(OTHER_ROLES))
def test_the_other_roles_of_the_domain_use_the_routes_as_their_like(app, engine, people, open_task, drafts,
                                                                     username):
    role, like, differences = OTHER_ROLES[username]
    if username != "mentor":  # the mentor is one of the fixture's people already
        with engine.db.write() as s:
            user = org.add_user(s, username, username.title(), f"{username}@example.se")
            org.assign_role(s, user.id, people.unit, role)
        passwords.set_password(engine, username, PASSWORD)
    column = PERSONAS.index(like)
    expected = {route: differences.get(route, row[column]) for route, row in ROUTES.items()}
    assert visit_every_route(app, username, samples_for(people, open_task, drafts)) == expected
