"""Messages and signals between cases (issue #14, point 3): written to the outbox in the sender's step,
delivered by the scheduler in the receiver's step, kept while nobody waits, never lost or doubled."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select

from elevflow.cli import main
from elevflow.engine import deploy, get_case, list_tasks, start_case, verify_audit
from elevflow.engine.errors import WorkflowError
from elevflow.engine.runtime import crosscase, outbox
from elevflow.engine.runtime.scheduler import run_once
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import CaseEvent

from .models import MODELS, START, chain, model

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)


def _rows(engine) -> list[CaseEvent]:
    with engine.db.read() as session:
        return list(session.scalars(select(CaseEvent).order_by(CaseEvent.id)))


def _kinds(engine, case_id):
    return [e.kind for e in audit.events(engine, case_id=case_id)]


@pytest.fixture
def routines(engine):
    for key in ("message_throw_to_case", "message_catch", "signal_throw", "signal_catch", "receive_task"):
        deploy(engine, {f"{key}.bpmn": MODELS[key]}, {})


def test_a_message_reaches_the_waiting_case_about_the_same_pupil(engine, people, routines):
    with time_machine.travel(T0, tick=False):
        other = start_case(engine, "message_catch", pupil_id=people.other_pupil, by=people.outsider)
        waiting = start_case(engine, "receive_task", pupil_id=people.pupil, by=people.teacher)
        sender = start_case(engine, "message_throw_to_case", pupil_id=people.pupil, by=people.teacher)
        [row] = _rows(engine)  # written in the sender's step, which ended the sender
        assert (row.kind, row.name, row.sender_case_id) == ("message", "dokument", sender.id)
        assert row.delivered_at is None
        assert get_case(engine, sender.id).status == "completed"
        assert run_once(engine).case_events == 1
    assert get_case(engine, waiting.id).status == "completed"
    assert get_case(engine, other.id).status == "running"  # another pupil's case is not correlated
    [received] = [e for e in audit.events(engine, case_id=waiting.id) if e.kind == "message_received"]
    assert received.data["from_case_id"] == sender.id and received.data["name"] == "dokument"
    [row] = _rows(engine)
    assert (row.outcome, row.receivers) == ("delivered", [waiting.id])
    assert crosscase.deliver_pending(engine) == 0  # delivered once, never again
    assert verify_audit(engine).ok


def test_a_message_nobody_waits_for_starts_a_case_of_the_routine_that_starts_with_it(engine, people):
    for key in ("message_start", "message_throw_start"):
        deploy(engine, {f"{key}.bpmn": MODELS[key]}, {})
    sender = start_case(engine, "message_throw_start", pupil_id=people.pupil, by=people.teacher)
    assert crosscase.deliver_pending(engine) == 1
    [row] = _rows(engine)
    assert row.outcome == "started"
    [case_id] = row.receivers
    started = get_case(engine, case_id)
    assert (started.process_key, started.pupil_id) == ("message_start", people.pupil)
    assert started.status == "running"
    assert [t.bpmn_id for t in list_tasks(engine, case_id=case_id, state="ready")] == ["Task_a"]
    [received] = [e for e in audit.events(engine, case_id=case_id) if e.kind == "message_received"]
    assert received.data["from_case_id"] == sender.id


def test_one_message_one_receiver(engine, people, routines):
    first = start_case(engine, "message_catch", pupil_id=people.pupil, by=people.teacher)
    second = start_case(engine, "message_catch", pupil_id=people.pupil, by=people.teacher)
    start_case(engine, "message_throw_to_case", pupil_id=people.pupil, by=people.teacher)
    crosscase.deliver_pending(engine)
    assert [get_case(engine, c.id).status for c in (first, second)] == ["completed", "running"]


def test_an_unmatched_message_is_kept_listed_and_delivered_once_a_case_waits(engine, db_url, people,
                                                                              routines):
    with time_machine.travel(T0, tick=False) as clock:
        sender = start_case(engine, "message_throw_to_case", pupil_id=people.pupil, by=people.teacher)
        assert crosscase.deliver_pending(engine) == 0
        [kept] = crosscase.pending(engine)
        listed = CliRunner().invoke(main, ["--database", db_url, "unmatched"])
        assert listed.exit_code == 0 and f"'dokument' from case {sender.id}" in listed.output
        assert (kept.sender_case_id, kept.name, kept.outcome) == (sender.id, "dokument", None)
        assert kept.keep_until - kept.created_at == outbox.KEPT
        clock.move_to(T0 + timedelta(days=3))
        late = start_case(engine, "message_catch", pupil_id=people.pupil, by=people.teacher)
        assert crosscase.deliver_pending(engine) == 1
    assert get_case(engine, late.id).status == "completed" and crosscase.pending(engine) == []


def test_an_unmatched_message_expires_after_the_documented_time(engine, people, routines):
    with time_machine.travel(T0, tick=False) as clock:
        start_case(engine, "message_throw_to_case", pupil_id=people.pupil, by=people.teacher)
        clock.move_to(T0 + outbox.KEPT + timedelta(seconds=1))
        assert crosscase.deliver_pending(engine) == 1
        start_case(engine, "message_catch", pupil_id=people.pupil, by=people.teacher)
        assert crosscase.deliver_pending(engine) == 0
    [expired] = crosscase.pending(engine)
    assert expired.outcome == "expired"


def test_a_signal_reaches_every_waiting_case_of_the_organiser(engine, people, routines):
    here = start_case(engine, "signal_catch", pupil_id=people.pupil, by=people.teacher)
    there = start_case(engine, "signal_catch", pupil_id=people.other_pupil, by=people.outsider)
    sender = start_case(engine, "signal_throw", pupil_id=people.pupil, by=people.teacher)
    assert "signal_thrown" in _kinds(engine, sender.id)
    assert crosscase.deliver_pending(engine) == 1
    assert [get_case(engine, c.id).status for c in (here, there)] == ["completed", "completed"]
    [row] = _rows(engine)
    assert (row.outcome, sorted(row.receivers)) == ("broadcast", sorted([here.id, there.id]))


def test_a_sender_step_that_fails_leaves_no_message(engine, people, routines):
    body = (START + '<bpmn:intermediateThrowEvent id="Throw">'
            '<bpmn:messageEventDefinition messageRef="Msg_doc"/>'
            '</bpmn:intermediateThrowEvent><bpmn:scriptTask id="Boom"><bpmn:script>x = 1 / 0</bpmn:script>'
            '</bpmn:scriptTask><bpmn:userTask id="Task_a"/><bpmn:endEvent id="Finish"/>'
            + chain("Begin", "Throw", "Boom", "Task_a", "Finish"))
    deploy(engine, {"boom.bpmn": model("boom", body, '<bpmn:message id="Msg_doc" name="dokument"/>')}, {})
    start_case(engine, "message_catch", pupil_id=people.pupil, by=people.teacher)
    with pytest.raises(WorkflowError):
        start_case(engine, "boom", pupil_id=people.pupil, by=people.teacher)
    assert _rows(engine) == []


CORRELATION = """<bpmn:message id="Msg_doc" name="dokument_svar"/>
<bpmn:correlationProperty id="prop_doc" name="dokument_id">
  <bpmn:correlationPropertyRetrievalExpression messageRef="Msg_doc">
    <bpmn:formalExpression>dokument_id</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>
<bpmn:collaboration id="Collab"><bpmn:correlationKey name="dokument">
  <bpmn:correlationPropertyRef>prop_doc</bpmn:correlationPropertyRef></bpmn:correlationKey></bpmn:collaboration>
"""


def test_a_message_goes_to_the_case_whose_correlation_key_matches(engine, people):
    throw = (START + '<bpmn:intermediateThrowEvent id="Throw">'
             '<bpmn:messageEventDefinition messageRef="Msg_doc">'
             '<bpmn:extensionElements><spiffworkflow:messagePayload>{"dokument_id": dokument_id}'
             "</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:messageEventDefinition>"
             '</bpmn:intermediateThrowEvent><bpmn:endEvent id="Finish"/>' + chain("Begin", "Throw", "Finish"))
    catch = (START + '<bpmn:intermediateCatchEvent id="Catch">'
             '<bpmn:messageEventDefinition messageRef="Msg_doc"/>'
             '</bpmn:intermediateCatchEvent><bpmn:endEvent id="Finish"/>' + chain("Begin", "Catch", "Finish"))
    deploy(engine, {"svar.bpmn": model("svar", throw, CORRELATION)}, {})
    deploy(engine, {"vanta.bpmn": model("vanta", catch, CORRELATION)}, {})
    seven = start_case(engine, "vanta", pupil_id=people.pupil, by=people.teacher, data={"dokument_id": 7})
    eight = start_case(engine, "vanta", pupil_id=people.pupil, by=people.teacher, data={"dokument_id": 8})
    start_case(engine, "svar", pupil_id=people.pupil, by=people.teacher, data={"dokument_id": 8})
    assert crosscase.deliver_pending(engine) == 1
    assert [get_case(engine, c.id).status for c in (seven, eight)] == ["running", "completed"]
    [row] = _rows(engine)
    assert row.correlations == {"dokument": {"prop_doc": 8}}


def _unit_level(key: str) -> str:
    unit = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="caseSubject" '
            'value="unit"/></spiffworkflow:properties></bpmn:extensionElements>')
    return MODELS[key].replace('isExecutable="true">', f'isExecutable="true">{unit}', 1)


def test_a_unit_level_message_reaches_a_waiting_case_of_the_same_unit_only(engine, people):
    for key in ("message_throw_to_case", "message_catch"):
        deploy(engine, {f"{key}.bpmn": _unit_level(key)}, {})
    there = start_case(engine, "message_catch", unit_id=people.other_unit, by=people.outsider)
    here = start_case(engine, "message_catch", unit_id=people.unit, by=people.rektor)
    start_case(engine, "message_throw_to_case", unit_id=people.unit, by=people.rektor)
    assert crosscase.deliver_pending(engine) == 1
    assert [get_case(engine, c.id).status for c in (here, there)] == ["completed", "running"]
