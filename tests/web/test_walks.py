"""Shipped routines walked through the web app: every step's form drawn from its JSON Schema, filled in,
posted, and read back into exactly the data the engine's own walk sends (tests/test_routines.py).

The walks are each routine's shortest one (the command line's) and a full support case with an
åtgärdsprogram (rows of needs and measures), a decision only the rektor may sign and an appeal window.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import routine_scenarios as rs
import time_machine
from sqlalchemy import func, select
from test_routines import (
    MAX_STEPS,
    START,
    TIMERS,
    build_school,
    form_data,
    next_step,
    routines_for,
    timers_of,
    utc,
)
from werkzeug.datastructures import MultiDict

from elevflow.engine import get_case, get_task, list_tasks
from elevflow.engine.org import passwords
from elevflow.engine.runtime import timers
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage.models import Case, DecisionRecord
from elevflow.webui import close_app, create_app, forms

from .conftest import PASSWORD, SECRET, login, post, text

FULL = "sarskilt_stod_programme_with_enskild_undervisning_decided_by_the_rektor_personally"
# Staff with no lane of their own start the reporting routines from the start page too (issue 12).
BY_OTHER_STAFF = ("orosanmalan_made_by_a_fritidspedagog",
                  "krankande_behandling_the_rektor_learns_of_it_and_reports_straight_to_the_organiser")
WALKS = [*rs.CLI_WALKS.values(), *(s for s in rs.SCENARIOS if s.id == FULL or s.id in BY_OTHER_STAFF)]


def same(sent: Any, stored: Any) -> bool:
    """Equal data, a date-time being equal when it is the same moment (the form shows it in Swedish time)."""
    if isinstance(sent, dict) and isinstance(stored, dict):
        return sent.keys() == stored.keys() and all(same(sent[k], stored[k]) for k in sent)
    if isinstance(sent, list) and isinstance(stored, list):
        return len(sent) == len(stored) and all(same(a, b) for a, b in zip(sent, stored, strict=True))
    if isinstance(sent, str) and isinstance(stored, str) and "T" in sent and sent != stored:
        try:
            return datetime.fromisoformat(sent) == datetime.fromisoformat(stored)
        except ValueError:
            return False
    return sent == stored and type(sent) is type(stored)


@pytest.mark.parametrize("scenario", WALKS, ids=[s.id for s in WALKS])
def test_a_routine_is_walked_to_its_end_through_the_web_forms(engine, db_url, scenario, workers):
    school = build_school(engine, routines_for(scenario))
    for username in rs.PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
    try:
        path = walk(app, engine, school, scenario)
    finally:
        close_app(app)
    assert path == list(scenario.path)


def walk(app: Any, engine: Any, school: Any, scenario: rs.Scenario) -> list[str]:
    path: list[str] = []
    visits: Counter[str] = Counter()
    seen: dict[Any, int] = {}
    waited: set[Any] = set()

    def client_of(username: str) -> Any:
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client

    with time_machine.travel(START, tick=False) as clock:
        starter = client_of(scenario.started_by)
        if scenario.routine in rs.UNIT_LEVEL:  # the årshjul, an avvikelse: for the unit, with no pupil
            started = post(starter, "/skolenhet/starta",
                           {"rutin": scenario.routine, "enhet": str(school.unit)}, token_from="/elever")
        else:
            started = post(starter, f"/elever/{school.pupil}/starta", {"rutin": scenario.routine},
                           token_from="/elever")
        assert started.status_code == 302
        with engine.db.read() as s:
            case_id = s.scalar(select(func.max(Case.id)).where(Case.parent_case_id.is_(None)))
        for _ in range(MAX_STEPS):
            ready = list_tasks(engine, case_id=case_id, state="ready")
            if not ready:
                break
            chosen = next_step(scenario, ready, seen, visits, waited)
            if chosen is None:  # the scenario lets the boundary timer run out, as the scheduler would
                [timer] = timers_of(engine, case_id)
                clock.move_to(utc(timer.due_at) + timedelta(minutes=1))
                assert timers.fire_due(engine) == 1
                path.append(f"timer:{timer.bpmn_id}")
                waited |= {t.id for t in ready if t.bpmn_id == TIMERS[timer.bpmn_id]}
                continue
            task, answer = chosen
            user = (rs.assignee(task.bpmn_id, scenario.started_by) or scenario.by.get(task.bpmn_id)
                    or rs.LANE_USER[task.role])
            complete_through_the_form(client_of(user), engine, school, task, answer)
            path.append(task.bpmn_id)
            clock.shift(timedelta(days=1))
    assert get_case(engine, case_id).status == "completed"
    assert get_case(engine, case_id).pupil_id == (None if scenario.routine in rs.UNIT_LEVEL else school.pupil)
    _every_decision_was_signed(engine, case_id)
    return path


def _every_decision_was_signed(engine: Any, case_id: int) -> None:
    """A decision completed through the web is always signed: one decision record per decision task."""
    parsed = engine.specs.get(get_case(engine, case_id).process_version_id)
    done = [t for t in list_tasks(engine, case_id=case_id, state="completed")
            if parsed.user_tasks()[t.bpmn_id].decision]
    with engine.db.read() as s:
        signed = set(s.scalars(select(DecisionRecord.task_id).where(DecisionRecord.case_id == case_id)))
    assert {t.id for t in done} == signed


def complete_through_the_form(client: Any, engine: Any, school: Any, task: Any, answer: Any) -> None:
    page = client.get(f"/uppgifter/{task.id}")
    assert page.status_code == 200, (task.bpmn_id, page.status_code)
    html = text(page)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    version = html.split('name="_row_version" value="')[1].split('"')[0]
    schema = task_info(engine, task)["form"]
    data = form_data(schema, answer, school)
    raw = forms.to_raw(schema, data)
    for name in raw:  # every value goes into a control the page drew
        assert f'name="{name}"' in html, (task.bpmn_id, name)
    sent = MultiDict([*raw.items(multi=True), ("csrf_token", token), ("_row_version", version)])
    if 'name="_password"' in html:  # a decision: signed with the password given again
        sent.add("_password", PASSWORD)
    response = client.post(f"/uppgifter/{task.id}", data=sent)
    assert response.status_code == 302, (task.bpmn_id, text(response).split("error-summary")[-1][:800])
    stored = get_task(engine, task.id)
    assert stored.state == "completed" and same(data, stored.data), (task.bpmn_id, data, stored.data)
