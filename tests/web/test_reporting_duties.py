"""The reporting duties over HTTP (issue 12, points 2 and 3): a member of staff with no lane of their own
starts an orosanmälan from the start page and is taken to their own report, which no teacher can open; a
report of a kränkning made after its 24 hours is marked late on the case page."""
from __future__ import annotations

from datetime import timedelta

import pytest
import routine_scenarios as rs
import time_machine
from test_routines import START, build_school, form_data, ready_tasks

from elevflow.engine import complete_task, list_cases, start_case
from elevflow.engine.org import passwords
from elevflow.engine.runtime.tasks import task_info
from elevflow.webui import close_app, create_app

from .conftest import PASSWORD, SECRET, login, post, text

LATE = "försenad: skulle ha gjorts senast"


@pytest.fixture
def school(engine):
    built = build_school(engine, ["orosanmalan", "krankande_behandling"])
    for username in rs.PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    return built


@pytest.fixture
def app(db_url, school, workers):
    made = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
    yield made
    close_app(made)


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_a_fritidspedagog_starts_an_orosanmalan_from_the_start_page_and_no_teacher_opens_it(engine, app,
                                                                                            school):
    reporter = signed_in(app, "fritidspedagog")
    page = text(reporter.get("/elever?q=Alva"))
    assert "Alva Andersson" in page and '<option value="orosanmalan">Orosanmälan</option>' in page
    started = post(reporter, f"/elever/{school.pupil}/starta", {"rutin": "orosanmalan"}, token_from="/elever")
    [case_id] = {c.id for c in list_cases(engine)}
    [task] = ready_tasks(engine, case_id)
    assert started.status_code == 302 and started.headers["Location"].endswith(f"/uppgifter/{task.id}")
    assert task.assignee_id == school.users["fritidspedagog"]
    assert reporter.get(f"/uppgifter/{task.id}").status_code == 200
    assert str(task.id) in text(reporter.get("/uppgifter"))
    given_back = post(reporter, f"/uppgifter/{task.id}/slapp", follow_redirects=True)
    assert "är en personlig skyldighet" in text(given_back)
    assert ready_tasks(engine, case_id)[0].assignee_id == school.users["fritidspedagog"]
    for username in ("teacher", "mentor", "specialpedagog", "kurator"):
        colleague = signed_in(app, username)
        assert str(task.id) not in text(colleague.get("/uppgifter")), username
        assert colleague.get(f"/uppgifter/{task.id}").status_code in (403, 404), username
        assert colleague.get(f"/arenden/{task.case_id}").status_code == 404, username
    assert signed_in(app, "rektor").get(f"/arenden/{task.case_id}").status_code == 200


def test_a_late_report_of_a_krankning_is_marked_late_on_the_case_page(engine, app, school):
    with time_machine.travel(START, tick=False):
        case = start_case(engine, "krankande_behandling", pupil_id=school.pupil, by=school.users["teacher"])
        [task] = ready_tasks(engine, case.id)
        learned = (START - timedelta(days=2)).isoformat()
        data = form_data(task_info(engine, task)["form"], {"kb_kannedom_datum": learned}, school)
        complete_task(engine, task.id, data, by=school.users["teacher"])
        page = text(signed_in(app, "rektor").get(f"/arenden/{case.id}"))
    assert page.count(LATE) == 1
    assert LATE in page.split("<summary>Anmäla till rektor", 1)[1].split("</summary>")[0]


def test_a_report_on_time_is_not_marked_late(engine, app, school):
    with time_machine.travel(START, tick=False):
        case = start_case(engine, "krankande_behandling", pupil_id=school.pupil, by=school.users["teacher"])
        [task] = ready_tasks(engine, case.id)
        learned = (START - timedelta(hours=3)).isoformat()
        data = form_data(task_info(engine, task)["form"], {"kb_kannedom_datum": learned}, school)
        complete_task(engine, task.id, data, by=school.users["teacher"])
        assert LATE not in text(signed_in(app, "rektor").get(f"/arenden/{case.id}"))
