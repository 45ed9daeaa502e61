"""Appeals in särskilt stöd (issue 12 point 1, and 10): each recipient's last day, the window's end, an appeal
registered at any time, the follow-up running beside the appeal — through the engine API with a controlled
clock and real people in every lane, and what the case page and the task page show of it."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import routine_scenarios as rs
import time_machine
from sqlalchemy import select
from test_routines import build_school, do_task, form_data, timers_of
from werkzeug.datastructures import MultiDict

from elevflow.engine import (
    FormValidationError,
    RoutineRefusal,
    SigningRequiredError,
    case_data,
    complete_task,
    get_case,
    get_task,
    list_tasks,
    start_case,
    verify_audit,
)
from elevflow.engine.documents.appeals import age_on
from elevflow.engine.org import passwords
from elevflow.engine.runtime import timers
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage.models import AuditEvent, DecisionRecord, Guardian, Pupil, PupilGuardian
from elevflow.webui import close_app, create_app, forms

from .conftest import PASSWORD, SECRET, login, text

UTC = timezone.utc
NO_PROGRAMME = {**rs.SS, "Task_prova_utredning": {"beslut_val": "ej_atgardsprogram"}}


def ready(engine, case_id):
    return sorted(list_tasks(engine, case_id=case_id, state="ready"), key=lambda t: t.bpmn_id)


def the(engine, case_id, bpmn_id):
    [task] = [t for t in ready(engine, case_id) if t.bpmn_id == bpmn_id]
    return task


def act(engine, school, task, answer: dict[str, Any]) -> None:
    """Do a task as the person the routine gives it to (a decision is signed)."""
    user = rs.ASSIGNED.get(task.bpmn_id) or rs.LANE_USER[task.role]
    do_task(engine, task, form_data(task_info(engine, task)["form"], answer, school), school.users[user])


def drive(engine, school, answers: dict[str, Any], until: str) -> int:
    """Start a särskilt stöd case and do its tasks in order until `until` is open; return the case id."""
    case = start_case(engine, "sarskilt_stod", pupil_id=school.pupil, by=school.users["teacher"])
    while until not in {t.bpmn_id for t in ready(engine, case.id)}:
        task = ready(engine, case.id)[0]
        answer = answers.get(task.bpmn_id, {})
        act(engine, school, task, answer[0] if isinstance(answer, list) else answer)
    return case.id


def recipient(name: str, role: str, received: str) -> dict[str, str]:
    return {"mottagare_namn": name, "mottagare_roll": role, "delgivningssatt": "brev",
            "mottaget_datum": received}


def delivery(*recipients: dict[str, str]) -> dict[str, Any]:
    return {"delgivning_mottagare": list(recipients), "delgivning_overklagandehanvisning": True}


def page(db_url: str, username: str, path: str) -> str:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET})
    try:
        client = app.test_client()
        assert login(client, username).status_code == 302
        response = client.get(path)
        assert response.status_code == 200
        return text(response)
    finally:
        close_app(app)


def test_a_last_day_on_a_holiday_moves_and_a_late_appeal_is_registered_and_dismissed_by_a_signed_decision(
        engine, db_url):
    """Receipt 2026-12-04 + 3 weeks = 2026-12-25 (juldagen), then annandag jul and a weekend: the last
    day is Monday 2026-12-28, and the window is open until midnight after it, Swedish time. Each
    recipient has their own last day. After the window an appeal can still be registered: the timeliness
    assessment is proposed from the dates, and the dismissal is a signed decision."""
    school = build_school(engine, ["sarskilt_stod"])
    for username in rs.PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    with time_machine.travel(datetime(2026, 11, 23, 8, 0, tzinfo=UTC), tick=False) as clock:
        case_id = drive(engine, school, NO_PROGRAMME, "Task_delge_beslut")
        clock.move_to(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
        task = the(engine, case_id, "Task_delge_beslut")
        rektor = school.users["rektor"]
        with pytest.raises(FormValidationError, match="mottaget_datum"):  # received tomorrow: refused
            complete_task(engine, task.id, delivery(recipient("Anna", "vardnadshavare", "2026-12-08")),
                          by=rektor)
        with pytest.raises(FormValidationError):  # a decision is never delivered without appeal instructions
            complete_task(engine, task.id, {**delivery(recipient("Anna", "vardnadshavare", "2026-12-04")),
                                        "delgivning_overklagandehanvisning": False}, by=rektor)
        assert get_task(engine, task.id).state == "ready"
        complete_task(engine, task.id, delivery(recipient("Anna Andersson", "vardnadshavare", "2026-12-04"),
                                            recipient("Bo Andersson", "vardnadshavare", "2026-12-01")),
                      by=rektor)
        data = case_data(engine, case_id)
        assert [r["sista_dag_overklagande"] for r in data["delgivning_mottagare"]] == \
            ["2026-12-28", "2026-12-22"]
        closes = datetime(2026, 12, 28, 23, 0, tzinfo=UTC)  # 2026-12-29 00:00 in Stockholm
        [timer] = timers_of(engine, case_id)
        assert timer.bpmn_id == "Timer_overklagandetid" and \
            (timer.due_at if timer.due_at.tzinfo else timer.due_at.replace(tzinfo=UTC)) == closes
        registration = the(engine, case_id, "Task_registrera_overklagande")
        assert registration.due_at is None  # a standing door for an appeal, never overdue

        clock.move_to(datetime(2026, 12, 28, 12, 0, tzinfo=UTC))  # the last day: the watch may not close yet
        with pytest.raises(RoutineRefusal, match="först när överklagandetiden har gått ut"):
            complete_task(engine, registration.id, rs.CLOSE, by=rektor)
        refused = submit(db_url, engine, "rektor", registration, rs.CLOSE)  # the same on the web: said, 422
        assert refused.status_code == 422
        assert "Rutinen godtog inte uppgifterna" in text(refused) and "har gått ut" in text(refused)
        assert "Ärendet har stannat" not in text(refused)
        # the routine refused the rektor's step on purpose: it did not fail, so the case is not stopped
        assert get_case(engine, case_id).error is None
        with engine.db.read() as s:
            assert s.scalars(select(AuditEvent).where(AuditEvent.kind == "step_failed")).all() == []
        clock.move_to(closes - timedelta(minutes=1))  # 23:59 on the last day, Swedish time
        assert timers.fire_due(engine) == 0
        clock.move_to(closes + timedelta(seconds=30))
        assert timers.fire_due(engine) == 1
        assert get_task(engine, registration.id).state == "ready"  # an appeal can still be registered

        clock.move_to(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
        act(engine, school, registration, {"overklagande_inkommet": "ja",
                                       "overklagande_inkom_datum": "2027-01-05",
                                       "overklagande_klagande": "bada_vardnadshavare"})
        trial = the(engine, case_id, "Task_prova_rattidighet")
        assert trial.due_at.date() == date(2027, 1, 8)  # 2BD from the day it came in (6 January is a holiday)
        proposed = page(db_url, "rektor", f"/uppgifter/{trial.id}")
        checked = re.search(r'name="f\.overklagande_rattidighet" value="(\w+)"[^>]*checked', proposed)
        assert checked and checked.group(1) == "for_sent"
        assert "2026-12-28" in proposed and "2026-12-22" in proposed
        act(engine, school, trial, {"overklagande_rattidighet": "for_sent"})
        dismissal = the(engine, case_id, "Task_besluta_avvisning")
        form = form_data(task_info(engine, dismissal)["form"], {}, school)
        with pytest.raises(SigningRequiredError):
            complete_task(engine, dismissal.id, form, by=rektor)
        act(engine, school, dismissal, {})
        with engine.db.read() as s:
            signed = s.scalars(select(DecisionRecord.decision).where(DecisionRecord.case_id == case_id)).all()
        assert signed == ["ej_atgardsprogram", "avvisning_overklagande"]
        case_page = page(db_url, "rektor", f"/arenden/{case_id}")
    shown = case_page.split('id="overklagandetid"')[1].split("</section>")[0]
    assert re.findall(r'class="last-day">([\d-]+)<', shown) == ["2026-12-28", "2026-12-22"]
    assert "Överklagandetiden går ut vid slutet av 2026-12-28." in shown
    assert verify_audit(engine).ok


def test_the_follow_up_runs_beside_the_appeal_whose_steps_are_due_within_a_week_and_stops_when_quashed(
        engine):
    """The appeal does not suspend the programme: its follow-up is open from the delivery and can be
    done while the appeal waits; the appeal's steps are due counted from the day it came in, the
    forwarding to the board within a week; when the board quashes the decision the follow-up stops."""
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), tick=False) as clock:
        case_id = drive(engine, school, rs.SS, "Task_delge_beslut")
        act(engine, school, the(engine, case_id, "Task_delge_beslut"), {})
        assert [t.bpmn_id for t in ready(engine, case_id)] == ["Task_registrera_overklagande",
                                                               "Task_uppfoljning"]
        clock.move_to(datetime(2026, 3, 12, 8, 0, tzinfo=UTC))
        with pytest.raises(FormValidationError, match="overklagande_inkom_datum"):  # arrives tomorrow
            act(engine, school, the(engine, case_id, "Task_registrera_overklagande"),
                {"overklagande_inkommet": "ja", "overklagande_inkom_datum": "2026-03-13"})
        act(engine, school, the(engine, case_id, "Task_registrera_overklagande"),
            {"overklagande_inkommet": "ja", "overklagande_inkom_datum": "2026-03-09"})
        came_in = datetime(2026, 3, 9, 22, 59, tzinfo=UTC)  # each due at 23:59 Swedish time of its day
        act(engine, school, the(engine, case_id, "Task_prova_rattidighet"),
            {"overklagande_rattidighet": "i_tid"})
        act(engine, school, the(engine, case_id, "Task_omprova_beslut"),
            {"overklagande_omprovning": "andras_ej"})
        due = {t.bpmn_id: t.due_at.replace(tzinfo=UTC) for t in list_tasks(engine, case_id=case_id)
               if t.bpmn_id in ("Task_prova_rattidighet", "Task_omprova_beslut", "Task_yttrande_overlamna")}
        assert due == {"Task_prova_rattidighet": came_in + timedelta(days=2),
                       "Task_omprova_beslut": came_in + timedelta(days=4),
                       "Task_yttrande_overlamna": came_in + timedelta(weeks=1)}
        act(engine, school, the(engine, case_id, "Task_yttrande_overlamna"), {})
        follow_up = the(engine, case_id, "Task_uppfoljning")  # while the appeal waits at the board
        with pytest.raises(FormValidationError) as refused:  # "fortsatt" says why no new decision is needed
            complete_task(engine, follow_up.id, form_data(task_info(engine, follow_up)["form"],
                                                      {"utvardering_slutsats": "fortsatt"}, school)
                          | {"utvardering_inget_nytt_beslut_skal": ""}, by=school.users["specialpedagog"])
        assert "utvardering_inget_nytt_beslut_skal" in refused.value.errors
        act(engine, school, follow_up, {"utvardering_slutsats": "fortsatt", "uppfoljning_datum": "2026-05-04",
                                    "utvardering_inget_nytt_beslut_skal": "Åtgärderna står sig"})
        again = the(engine, case_id, "Task_uppfoljning")
        assert again.due_at.replace(tzinfo=UTC) == datetime(2026, 5, 4, 21, 59, tzinfo=UTC)  # 23:59 CEST
        act(engine, school, the(engine, case_id, "Task_registrera_avgorande"),
            {"overklagande_avgorande": "aterforvisat"})
    assert get_task(engine, again.id).state == "cancelled"
    assert [t.bpmn_id for t in ready(engine, case_id)] == ["Task_prova_utredning"]
    assert verify_audit(engine).ok


def test_the_delivery_form_proposes_the_guardians_and_refuses_a_receipt_date_after_today(engine, db_url,
                                                                                         workers):
    """The recipients are filled in from the pupil's guardians (a protected identity is not named); a
    receipt date after today is refused beside its field (the form's `dateNotAfter`), and nothing is saved."""
    school = build_school(engine, ["sarskilt_stod"])
    passwords.set_password(engine, "rektor", PASSWORD)
    with engine.db.write() as s:
        for given, family, protected in (("Anna", "Andersson", False), ("Gustav", "Gömd", True)):
            guardian = Guardian(given_name=given, family_name=family, protected_identity=protected)
            s.add(guardian)
            s.flush()
            s.add(PupilGuardian(pupil_id=school.pupil, guardian_id=guardian.id))
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False):
        case_id = drive(engine, school, NO_PROGRAMME, "Task_delge_beslut")
        task = the(engine, case_id, "Task_delge_beslut")
        app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
        try:
            client = app.test_client()
            assert login(client, "rektor").status_code == 302
            shown = text(client.get(f"/uppgifter/{task.id}"))
            field = r'name="f\.delgivning_mottagare\.\d+\.mottagare_namn"'
            names = re.findall(field + r'[^>]*value="([^"]*)"', shown) \
                or re.findall(r'value="([^"]*)"[^>]*' + field, shown)
            assert names == ["Anna Andersson", "Vårdnadshavare med skyddade personuppgifter"]
            assert "Gömd" not in shown
            schema = task_info(engine, task)["form"]
            data = delivery(recipient("Anna Andersson", "vardnadshavare", "2026-12-08"))
            token = shown.split('name="csrf_token" value="')[1].split('"')[0]
            version = shown.split('name="_row_version" value="')[1].split('"')[0]
            sent = MultiDict([*forms.to_raw(schema, data).items(multi=True), ("csrf_token", token),
                              ("_row_version", version)])
            refused = client.post(f"/uppgifter/{task.id}", data=sent)
            assert refused.status_code == 422
            assert "Datumet får inte vara senare än i dag (2026-12-07)." in text(refused)
            assert get_task(engine, task.id).state == "ready"
        finally:
            close_app(app)


def submit(db_url: str, engine, username: str, task, data: dict[str, Any]) -> Any:
    """Open the task's page as `username` and send its form with `data`: the response."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=engine.pool())
    try:
        client = app.test_client()
        assert login(client, username).status_code == 302
        shown = text(client.get(f"/uppgifter/{task.id}"))
        token = shown.split('name="csrf_token" value="')[1].split('"')[0]
        version = shown.split('name="_row_version" value="')[1].split('"')[0]
        sent = MultiDict([*forms.to_raw(task_info(engine, task)["form"], data).items(multi=True),
                          ("csrf_token", token), ("_row_version", version)])
        response = client.post(f"/uppgifter/{task.id}", data=sent, follow_redirects=True)
        response.get_data()
        return response
    finally:
        close_app(app)


def proposed_names(db_url: str, task_id) -> list[tuple[str, str]]:
    """The recipients (name, role) the delivery form proposes to the rektor."""
    shown = page(db_url, "rektor", f"/uppgifter/{task_id}")
    names = re.findall(r'name="f\.delgivning_mottagare\.(\d+)\.mottagare_namn"[^>]*value="([^"]*)"', shown)
    role = r'name="f\.delgivning_mottagare\.(\d+)\.mottagare_roll" value="(\w+)"[^>]*checked'
    roles = dict(re.findall(role, shown))
    return [(name, roles.get(row, "")) for row, name in names]


def test_the_delivery_proposes_the_pupil_who_is_16_on_the_day_it_opens(engine, db_url):
    """Issue 12: a pupil of 16 speaks for themselves (29 kap. 12 § skollagen), so the delivery proposes the
    pupil too; one who is 15 on the day the delivery opened is not proposed, even when 16 by the time the
    rektor looks; a protected pupil is not named."""
    school = build_school(engine, ["sarskilt_stod"])
    passwords.set_password(engine, "rektor", PASSWORD)
    with engine.db.write() as s:
        guardian = Guardian(given_name="Anna", family_name="Andersson")
        s.add(guardian)
        s.flush()
        s.add(PupilGuardian(pupil_id=school.pupil, guardian_id=guardian.id))
        pupil = s.get(Pupil, school.pupil)
        pupil.birth_date = date(2010, 12, 7)
        name = f"{pupil.given_name} {pupil.family_name}"
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False):
        case_id = drive(engine, school, NO_PROGRAMME, "Task_delge_beslut")
        task = the(engine, case_id, "Task_delge_beslut")
        assert proposed_names(db_url, task.id) == [(name, "elev"), ("Anna Andersson", "vardnadshavare")]
        with engine.db.write() as s:
            s.get(Pupil, school.pupil).protected_identity = True
        assert proposed_names(db_url, task.id) == [("Elev med skyddade personuppgifter", "elev"),
                                                   ("Anna Andersson", "vardnadshavare")]
    with engine.db.write() as s:
        pupil = s.get(Pupil, school.pupil)
        pupil.birth_date, pupil.protected_identity = date(2010, 12, 8), False  # 16 the day after it opened
    with time_machine.travel(datetime(2026, 12, 9, 9, 0, tzinfo=UTC), tick=False):
        assert proposed_names(db_url, task.id) == [("Anna Andersson", "vardnadshavare")]


@pytest.mark.parametrize("born, day, age", [
    (date(2010, 12, 7), date(2026, 12, 7), 16), (date(2010, 12, 8), date(2026, 12, 7), 15),
    (date(2008, 2, 29), date(2024, 2, 28), 15), (date(2008, 2, 29), date(2024, 2, 29), 16),
    (date(2008, 2, 29), date(2025, 2, 28), 16), (date(2009, 2, 28), date(2025, 2, 28), 16),
])
def test_a_pupils_age_on_a_day(born, day, age):
    assert age_on(born, day) == age
