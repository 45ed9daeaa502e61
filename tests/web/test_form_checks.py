"""The engine's own form checks (engine/routines/formcheck.py) said in Swedish beside the field on the task
page:
a required text of only spaces, a date out of the order its form declares, and a field the case's data
makes required (no programme although the investigation found a need). Nothing is saved.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import routine_scenarios as rs
import time_machine
from routine_walks import VIEW, drive
from test_routines import START, build_school, form_data
from werkzeug.datastructures import MultiDict

from elevflow.engine import get_task
from elevflow.engine.org import passwords
from elevflow.engine.runtime.tasks import task_info
from elevflow.webui import close_app, create_app, forms

from .conftest import PASSWORD, SECRET, login, text


def send(app: Any, username: str, engine: Any, task: Any, data: dict[str, Any]) -> str:
    client = app.test_client()
    assert login(client, username).status_code == 302
    html = text(client.get(f"/uppgifter/{task.id}"))
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    version = html.split('name="_row_version" value="')[1].split('"')[0]
    raw = forms.to_raw(task_info(engine, task)["form"], data)
    sent = MultiDict([*raw.items(multi=True), ("csrf_token", token), ("_row_version", version),
                      ("_password", PASSWORD)])
    response = client.post(f"/uppgifter/{task.id}", data=sent)
    assert response.status_code == 422, response.status_code
    assert get_task(engine, task.id).state == "ready"
    return text(response)


def test_the_engines_checks_are_said_beside_the_field(engine, db_url, workers):
    school = build_school(engine, ["sarskilt_stod"])
    for username in rs.PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
    try:
        with time_machine.travel(START, tick=False) as clock:
            report = drive(engine, school, clock, rs.SS, "Task_anmalan_rektor")
            data = form_data(task_info(engine, report)["form"], {}, school)
            today = datetime.now(timezone.utc).date()
            # the web form strips spaces itself; an API client's blank text is refused by the engine
            page = send(app, "teacher", engine, report, {**data,
                                                         "anmalan_datum": str(today + timedelta(days=1))})
            assert f"Datumet får inte vara senare än i dag ({today})." in page

            answers = {**rs.SS, "Task_pedagogisk_bedomning": {"bedomning_sarskilt_stod": "behov"},
                       "Task_prova_utredning": {"beslut_val": "ej_atgardsprogram"}}
            decision = drive(engine, school, clock, answers, "Task_beslut_ej_atgardsprogram")
            data = {k: v for k, v in form_data(task_info(engine, decision)["form"], VIEW, school).items()
                    if k != "beslut_ej_avvikelse_skal"}
            page = send(app, "rektor", engine, decision, data)
            assert 'id="f-beslut_ej_avvikelse_skal-error"' in page and "Fältet är obligatoriskt." in page
    finally:
        close_app(app)
