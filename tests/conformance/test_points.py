"""Issue #14's points, each as a process owner meets it: what the editor says and what a case does."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from smtp_server import Mailbox, serve
from sqlalchemy import select
from test_miwg import MIWG, document_request_in_a_lane

from elevflow.engine import complete_task, deploy, get_case, list_tasks, start_case, verify_audit
from elevflow.engine.routines.editing import verdict
from elevflow.engine.runtime import timers
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import Notification, OutgoingEmail, Timer

from .models import MODELS, START, chain, model, task, timer

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch, engine):
    yield from serve(monkeypatch, engine)


def _timer_rows(engine, case_id):
    with engine.db.read() as session:
        return [(t.bpmn_id, t.due_at) for t in session.scalars(select(Timer).where(Timer.case_id == case_id))]


@pytest.mark.parametrize("key", ["embedded_subprocess", "transaction", "event_subprocess_non_interrupting",
                                 "event_subprocess_interrupting"])
def test_1_subprocesses_deploy_and_run(engine, people, key):
    deploy(engine, {f"{key}.bpmn": MODELS[key]}, {})
    with time_machine.travel(T0, tick=False) as clock:
        case = start_case(engine, key, pupil_id=people.pupil, by=people.teacher)
        if key.startswith("event_subprocess"):
            assert _timer_rows(engine, case.id)  # the event subprocess's timer start is scheduled
            clock.move_to(T0 + timedelta(days=2, minutes=1))
            assert timers.fire_due(engine) == 1
            ready = sorted(t.bpmn_id for t in list_tasks(engine, case_id=case.id, state="ready"))
            # interrupting: the process's own task stops; non-interrupting: both run
            assert ready == ([] if key == "event_subprocess_interrupting" else ["Task_a", "Task_late"])
        for row in list_tasks(engine, case_id=case.id, state="ready"):
            complete_task(engine, row.id, {}, by=people.teacher)
    assert get_case(engine, case.id).status == "completed"


def test_1_an_ad_hoc_subprocess_gets_a_verdict_not_a_crash():
    found = verdict({"a.bpmn": MODELS["ad_hoc_subprocess"]}, {})
    assert [(p.code, p.element_id) for p in found.problems] == [("unsupported.ad_hoc_subprocess", "Adhoc")]


def test_2_a_timer_behind_an_event_based_gateway_is_scheduled_and_fires(engine, people):
    deploy(engine, {"g.bpmn": MODELS["event_based_gateway_timer"]}, {})
    with time_machine.travel(T0, tick=False) as clock:
        case = start_case(engine, "event_based_gateway_timer", pupil_id=people.pupil, by=people.teacher)
        [(bpmn_id, due)] = _timer_rows(engine, case.id)
        assert bpmn_id == "Timeout"
        clock.move_to(T0 + timedelta(days=5, seconds=1))
        assert timers.fire_due(engine) == 1
    [late] = list_tasks(engine, case_id=case.id, state="ready")
    assert late.bpmn_id == "Task_late" and _timer_rows(engine, case.id) == []
    assert any(
        e.kind == "timer_fired" and e.data["bpmn_id"] == "Timeout"
        for e in audit.events(engine, case_id=case.id)
    )


def test_4_each_firing_of_a_cycle_timer_and_each_step_between_is_audited(engine, people):
    deploy(engine, {"c.bpmn": MODELS["timer_cycle"]}, {})
    with time_machine.travel(T0, tick=False) as clock:
        case = start_case(engine, "timer_cycle", pupil_id=people.pupil, by=people.teacher)
        for day in (1, 2, 3):
            clock.move_to(T0 + timedelta(days=day, minutes=1))
            assert timers.fire_due(engine) == 1
    events = audit.events(engine, case_id=case.id)
    fired = [e.data["cycles_left"] for e in events if e.kind == "timer_fired"]
    assert fired == [2, 1, 0]
    assert [e.data["bpmn_id"] for e in events if e.kind == "script_ran"] == ["Count"] * 3
    assert verify_audit(engine).ok


def test_5_a_timer_found_at_exactly_its_due_instant_is_neither_claimed_nor_postponed(engine, people):
    deploy(engine, {"t.bpmn": MODELS["intermediate_timer"]}, {})
    with time_machine.travel(T0, tick=False) as clock:
        case = start_case(engine, "intermediate_timer", pupil_id=people.pupil, by=people.teacher)
        [(_, due)] = _timer_rows(engine, case.id)
        due = due.replace(tzinfo=timezone.utc) if due.tzinfo is None else due
        clock.move_to(due)  # SpiffWorkflow fires after the instant, not at it: neither does the claim
        assert timers.fire_due(engine) == 0
        clock.move_to(due + timedelta(seconds=1))
        assert timers.fire_due(engine) == 1  # not pushed five minutes on
    assert [t.bpmn_id for t in list_tasks(engine, case_id=case.id, state="ready")] == ["Task_a"]


def test_6_an_uncaught_error_end_event_fails_the_case_and_says_so(engine, people):
    deploy(engine, {"e.bpmn": MODELS["uncaught_error_end"]}, {})
    case = start_case(engine, "uncaught_error_end", pupil_id=people.pupil, by=people.teacher)
    [row] = list_tasks(engine, case_id=case.id, state="ready")
    complete_task(engine, row.id, {}, by=people.teacher)
    stored = get_case(engine, case.id)
    assert stored.status == "failed" and stored.ended_at is not None
    [failed] = [e for e in audit.events(engine, case_id=case.id) if e.kind == "case_failed"]
    assert failed.data == {"error": "avbrott", "error_code": "avbrott", "bpmn_id": "Err_end"}
    assert "case_completed" not in [e.kind for e in audit.events(engine, case_id=case.id)]


def test_6_a_caught_error_runs_on(engine, people):
    deploy(engine, {"b.bpmn": MODELS["boundary_error"]}, {})
    case = start_case(engine, "boundary_error", pupil_id=people.pupil, by=people.teacher)
    assert [t.bpmn_id for t in list_tasks(engine, case_id=case.id, state="ready")] == ["Task_fix"]
    assert get_case(engine, case.id).status == "running"


def test_7_a_send_task_tells_its_lane_in_app_and_by_e_mail_without_pupil_data(engine, people, smtp: Mailbox):
    deploy(engine, {"s.bpmn": MODELS["send_task"]}, {})
    case = start_case(engine, "send_task", pupil_id=people.pupil, by=people.rektor)
    [row] = list_tasks(engine, case_id=case.id, state="ready")
    complete_task(engine, row.id, {}, by=people.teacher)
    with engine.db.read() as session:
        told = sorted(
            n.user_id
            for n in session.scalars(select(Notification).where(Notification.kind == "case_message"))
        )
        mails = list(session.scalars(select(OutgoingEmail)))
    assert told == [people.teacher]  # the lane Lärare at the pupil's unit; not the outsider at another
    assert [m.to_address for m in mails] == ["teacher@example.se"]
    assert not any(
        trace in mails[0].body + mails[0].subject for trace in ("Alva", "Andersson", "7B", "Påminn")
    )
    [sent] = [e for e in audit.events(engine, case_id=case.id) if e.kind == "message_sent"]
    assert sent.data["bpmn_id"] == "Send" and sent.data["recipients"] == [people.teacher]


def test_7_a_send_task_outside_a_lane_is_refused_at_publish():
    body = START + '<bpmn:sendTask id="Send"/><bpmn:endEvent id="Finish"/>' + chain("Begin", "Send", "Finish")
    xml = model("lonely", body).replace("<bpmn:flowNodeRef>Send</bpmn:flowNodeRef>", "")
    found = verdict({"l.bpmn": xml}, {})
    assert [(p.code, p.element_id) for p in found.problems] == [("task.send_no_lane", "Send")]


def test_8_every_problem_at_once_each_with_its_element_and_code():
    body = (
        START
        + task("Task_a")
        + '<bpmn:serviceTask id="Service"/><bpmn:complexGateway id="Gw"/>'
        + '<bpmn:endEvent id="Finish"/>'
        + chain("Begin", "Task_a", "Service", "Gw", "Finish")
        + '<bpmn:intermediateCatchEvent id="Wait">'
        + timer("timeDuration", "P1D")
        + "</bpmn:intermediateCatchEvent>"
    )
    xml = (
        model("many", body)
        .replace('name="Lärare"', 'name="Vaktmästare"')
        .replace('"P1D"', "__import__('os')")
    )
    found = verdict({"m.bpmn": xml}, {})
    codes = Counter((p.code, p.element_id) for p in found.problems)
    assert codes == Counter(
        {
            ("unsupported.service_task", "Service"): 1,
            ("unsupported.complex_gateway", "Gw"): 1,
            ("lane.unknown_role", "Lane_1"): 1,
            ("expression.refused", "Wait"): 1,
        }
    )


def test_the_document_request_s_reminders_are_sent_and_each_firing_is_audited(engine, people, smtp: Mailbox):
    deploy(engine, {"C.9.1.bpmn": document_request_in_a_lane()}, {})
    with time_machine.travel(T0, tick=False) as clock:
        case = start_case(engine, "requestDocument_en", pupil_id=people.pupil, by=people.rektor)
        for day in range(1, 7):
            clock.move_to(T0 + timedelta(days=day, minutes=1))
            assert timers.fire_due(engine) == 1
    events = audit.events(engine, case_id=case.id)
    assert [e.data["bpmn_id"] for e in events if e.kind == "timer_fired"] == ["BoundaryEvent_1"] * 6
    sent = [e.data["bpmn_id"] for e in events if e.kind == "message_sent"]
    assert sent == ["SendTask_RequestDocument"] + ["SendTask_SendReminderEmail"] * 6
    with engine.db.read() as session:
        mails = list(
            session.scalars(select(OutgoingEmail).where(OutgoingEmail.to_address == "rektor@example.se"))
        )
    assert len(mails) == 7  # the request and six reminders, to the lane Rektor, through the outbox
    assert verify_audit(engine).ok


def test_8_spiffworkflow_s_own_refusals_have_codes_too():
    found = verdict({"C.9.2.bpmn": (MIWG / "C.9.2.bpmn").read_text(encoding="utf-8")}, {})
    assert ("spiff.multi_instance_cardinality", "CallActivity_RequestDocument") in {
        (p.code, p.element_id) for p in found.problems}
    assert all(p.code != "spiff.problem" for p in found.problems)
