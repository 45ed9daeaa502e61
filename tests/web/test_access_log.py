"""Every route that shows pupil data writes an access-log row (issue 13, point 7).

The test walks every route of the app (its url_map, as tests/web/test_authorization.py does) as people
who may see the case, in every way a route can answer with the case — a task's form shown again after a
validation error, after adding or removing a row, after a signature refused for want of a password, the
decision's preview and a signed decision's PDF — and checks: whenever the answer names the pupil (or is
a document of the case), the request wrote an access-log row for that user and case. A route added later
that shows a pupil without logging fails here, unless it is a list (LISTS: names, never case content,
not logged by design — docs/privacy.md).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import select

from elevflow.engine import complete_task, list_tasks, start_case
from elevflow.engine.documents import attachments, signing
from elevflow.engine.storage.models import AccessLogEntry

from .conftest import csrf, login
from .test_cases import REPORT

# Lists show a pupil's name and class beside a routine and a status, never what a case holds: by design
# they are not logged (docs/privacy.md, "what is not logged").
LISTS = {("inbox.home", "GET"), ("inbox.index", "GET"), ("cases.index", "GET"), ("pupils.search", "GET"),
         ("api.list_cases", "GET"), ("api.inbox", "GET"), ("api.unit_pool", "GET")}
# The ways a route is called beyond its plain call: the submitted form's variants.
VARIANTS: dict[tuple[str, str], list[dict[str, str]]] = {
    ("tasks.submit", "POST"): [
        {"f.anmalan_datum": "inte ett datum"},  # refused: the form again, with its errors
        {"_action": "add:rader"}, {"_action": "remove:rader.0", "_rows.rader": "2"},  # rows: the form again
        {"_action": "forhandsgranska", "f.beslut": "atgardsprogram"},  # a decision's preview (PDF)
        {"f.beslut": "atgardsprogram"},  # a decision without the password: the form again
    ],
    ("pupils.search", "GET"): [{"q": "Alva"}],
}


@pytest.fixture
def walk_samples(engine, people, chain) -> dict[str, Any]:
    """A case waiting on the teacher's report; one waiting on the rektor's decision; one with a signed
    decision."""
    waiting = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [report] = list_tasks(engine, case_id=waiting.id, state="ready")

    def to_decision() -> Any:
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT,
                      by=people.teacher)
        complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, {"behov": "ja"},
                      by=people.specialpedagog)
        return list_tasks(engine, case_id=case.id, state="ready")[0]

    decision_task = to_decision()
    signed_task = to_decision()
    signed = signing.sign_decision(engine, signed_task.id, {"beslut": "atgardsprogram"}, by=people.rektor,
                                   reauthenticated_at=datetime.now(timezone.utc))
    attached = attachments.add_attachment(engine, report.case_id, "Testresultat.pdf", b"%PDF-1.4\n%%EOF\n",
                                          by=people.teacher)
    return {"teacher": {"task_id": report.id, "case_id": report.case_id,
                        ("attachments.download", "GET"): {"attachment_id": attached.id}},
            "rektor": {"task_id": decision_task.id, "case_id": decision_task.case_id,
                       ("cases.decision", "GET"): {"case_id": signed_task.case_id,
                                                   "decision_id": signed.decision_id}}}


def shows_pupil(response: Any, endpoint: str) -> bool:
    """Whether the answer names the pupil: her name in a page, or a document of her case."""
    if response.mimetype == "application/pdf":
        return endpoint.startswith(("cases.", "tasks.", "attachments."))  # a file of the case too
    return "Alva" in response.get_data(as_text=True)


def log_rows(engine: Any, user_id: int) -> list[tuple[int | None, int | None, bool, str]]:
    """The user's access-log rows, oldest first: (case, pupil, allowed, action)."""
    with engine.db.read() as s:
        return [tuple(r) for r in s.execute(select(AccessLogEntry.case_id, AccessLogEntry.pupil_id,
                                                   AccessLogEntry.allowed, AccessLogEntry.action)
                                             .where(AccessLogEntry.user_id == user_id)
                                             .order_by(AccessLogEntry.id))]


def walk(app: Any, engine: Any, username: str, user_id: int, samples: dict[str, Any],
         common: dict[str, Any]) -> tuple[set[tuple[str, str]], list[str]]:
    """Every route, every variant, as `username`: which routes showed the pupil, and which of those
    wrote no log row for the case they showed."""
    showed, unlogged = set(), []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            route = (rule.endpoint, method)
            if route == ("auth.logout", "POST"):
                continue  # it would end the walk's session
            args = {**common, **samples, **samples.get(route, {})}
            for fields in [{}, *VARIANTS.get(route, [])]:
                client = app.test_client()
                assert login(client, username).status_code == 302
                with app.test_request_context():
                    url = url_for(rule.endpoint, **{name: args[name] for name in rule.arguments},
                                  **(fields if method == "GET" else {}))
                if method == "POST":
                    data = {"csrf_token": csrf(client, "/uppgifter"), "_row_version": "", **fields}
                    before = len(log_rows(engine, user_id))
                    response = client.post(url, data=data)
                else:
                    before = len(log_rows(engine, user_id))
                    response = client.get(url)
                assert response.status_code != 500, (route, fields)
                if shows_pupil(response, rule.endpoint) and route not in LISTS:
                    showed.add(route)
                    new = log_rows(engine, user_id)[before:]
                    if not any(pupil_id == args["pupil_id"] for _, pupil_id, _, _ in new):
                        unlogged.append(f"{method} {url} {fields} -> {response.status_code}")
                response.close()
    return showed, unlogged


@pytest.mark.parametrize("persona", ["teacher", "rektor"])
def test_every_route_that_shows_a_pupil_logs_the_look(app, engine, people, drafts_for_walk, walk_samples,
                                                      persona):
    showed, unlogged = walk(app, engine, persona, getattr(people, persona), walk_samples[persona],
                            drafts_for_walk)
    assert unlogged == []
    api = {("api.get_case", "GET")}  # with the session (the others name no pupil, only ids)
    expected = {"teacher": {("tasks.task", "GET"), ("tasks.submit", "POST"), ("cases.case", "GET"),
                            ("attachments.download", "GET"), *api},
                "rektor": {("tasks.task", "GET"), ("tasks.submit", "POST"), ("cases.case", "GET"),
                           ("cases.decision", "GET"), ("pupils.access", "GET"), *api}}[persona]
    assert showed >= expected  # the walk reached the pages it is about


@pytest.fixture
def drafts_for_walk(engine, people, chain) -> dict[str, Any]:
    """The other routes' arguments (the process owners' pages answer these people 404)."""
    return {"pupil_id": people.pupil, "filename": "elevflow.css", "decision_id": 1, "filter_id": 1,
            "key": "stodkedja", "version_id": chain.id, "draft_id": 1, "unit_id": people.unit, "token_id": 1,
            "subscription_id": 1, "kind": "utredning", "attachment_id": 1}


def test_the_decision_preview_is_logged_as_such(app, engine, people, walk_samples):
    client = app.test_client()
    login(client, "rektor")
    task = walk_samples["rektor"]["task_id"]
    form = {"csrf_token": csrf(client, "/uppgifter"), "f.beslut": "atgardsprogram",
            "_action": "forhandsgranska"}
    response = client.post(f"/uppgifter/{task}", data=form)
    assert response.mimetype == "application/pdf"
    assert log_rows(engine, people.rektor)[-1] == (walk_samples["rektor"]["case_id"], people.pupil, True,
                                               "preview_document")
