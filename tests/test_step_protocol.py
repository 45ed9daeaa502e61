"""One step protocol: every kind of state change of a case runs through `runner.step`.

Each kind — start, complete, sign, cancel, message, timer, migration — is driven through the public
engine API, and each must show the protocol's marks: the step counted once under its kind
(`db.stats.steps`), one commit, the case row one `row_version` further, the audit chain extended by
that step's events alone (one time, consecutive numbers, this case), and afterwards the live cache
holding the case's workflow at its new row version — or, for a case the step ended, holding none.
"""
from __future__ import annotations

import ast
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import time_machine
from bpmn_builder import FORM, process, user_task
from conftest import REPORT, ready, sign
from editing_helpers import add_process_owner, with_follow_up
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as OrmIntegrityError

from elevflow.engine import (
    PermissionDeniedError,
    cancel_case,
    complete_task,
    deploy,
    get_case,
    start_case,
    verify_audit,
)
from elevflow.engine.errors import ConflictError, NotStaffError
from elevflow.engine.routines import editing
from elevflow.engine.runtime import messages, migration
from elevflow.engine.runtime.runner import KINDS, step
from elevflow.engine.runtime.timers import fire_one
from elevflow.engine.storage.dbapi import Sql
from elevflow.engine.storage.models import AuditEvent, SchoolUnit

IntegrityError = (OrmIntegrityError, sqlite3.IntegrityError, psycopg.errors.IntegrityError)

ENGINE = Path(__file__).resolve().parent.parent / "engine"
INVESTIGATION = {"behov": "ja", "bedomning": "Behöver stöd i läsförståelse."}


@dataclass
class Before:
    steps: Counter
    commits: int
    seq: int
    row_version: int | None


def before(engine, case_id=None) -> Before:
    with engine.db.read() as s:
        seq = s.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))
    version = get_case(engine, case_id).row_version if case_id is not None else None
    return Before(Counter(engine.db.stats.steps), engine.db.stats.commits, seq, version)


def assert_one_step(engine, kind: str, seen: Before, case_id: int, *event_kinds: str) -> list[str]:
    """The change since `seen` was one step of `kind` through the protocol, on `case_id`; return the kinds
    of the audit events it wrote, which include `event_kinds`."""
    assert engine.db.stats.steps - seen.steps == Counter({kind: 1})
    assert engine.db.stats.commits - seen.commits == 1
    case = get_case(engine, case_id)
    assert case.row_version == (seen.row_version + 1 if seen.row_version is not None else 1)
    kept = case.row_version if case.status == "running" else None
    assert engine.live.held(case_id) == kept
    with engine.db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.seq > seen.seq).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(seen.seq + 1, seen.seq + 1 + len(events)))
    assert {e.case_id for e in events} == {case_id}
    assert len({e.at for e in events}) == 1  # written by one step, at one time
    kinds = [e.kind for e in events]
    assert set(event_kinds) <= set(kinds), kinds
    assert verify_audit(engine).ok
    return kinds


def started(engine, people):
    seen = before(engine)
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert_one_step(engine, "start", seen, case.id, "case_started", "task_created")
    return case


def test_starting_a_case_is_one_step(engine, people, chain):
    case = started(engine, people)
    assert engine.live.held(case.id) == case.row_version == 1


def test_completing_a_task_is_one_step(engine, people, chain):
    case = started(engine, people)
    seen = before(engine, case.id)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    assert_one_step(engine, "complete", seen, case.id, "task_completed", "task_created")


def test_signing_a_decision_is_one_step(engine, people, chain):
    case = started(engine, people)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, INVESTIGATION, by=people.specialpedagog)
    seen = before(engine, case.id)
    sign(engine, ready(engine, case.id)[0].id, {"beslut": "atgardsprogram",
                                                "motivering": "Utredningen visar behov."},
         by=people.rektor)
    kinds = assert_one_step(engine, "sign", seen, case.id, "task_completed", "decision_signed",
                            "case_completed")
    assert "task_completed" in kinds and get_case(engine, case.id).status == "completed"


def test_cancelling_a_case_is_one_step(engine, people, chain):
    case = started(engine, people)
    seen = before(engine, case.id)
    cancel_case(engine, case.id, by=people.rektor, reason="Eleven har flyttat.")
    assert_one_step(engine, "cancel", seen, case.id, "case_cancelled", "task_cancelled")
    assert get_case(engine, case.id).status == "cancelled" and ready(engine, case.id) == []


def test_a_timer_firing_is_one_step(engine, people, chain):
    with time_machine.travel(datetime.now(timezone.utc) - timedelta(days=15), tick=False):
        case = started(engine, people)
        complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    seen = before(engine, case.id)
    assert fire_one(engine) is True
    assert_one_step(engine, "timer", seen, case.id, "timer_fired", "task_cancelled", "task_created")
    assert [t.bpmn_id for t in ready(engine, case.id)] == ["Task_paminnelse"]


MESSAGE = process(
    """<bpmn:intermediateCatchEvent id="Catch_1">
      <bpmn:messageEventDefinition id="Catch_1_def" messageRef="Message_1"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Catch_1"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Catch_1" targetRef="Task_1"/>
    """ + user_task() + """
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>""", key="meddelande").replace(
    '<bpmn:sequenceFlow id="Flow_s" sourceRef="StartEvent_1" targetRef="Task_1"/>', "").replace(
    "  <bpmn:process ", '  <bpmn:message id="Message_1" name="dokument_inkommit"/>\n  <bpmn:process ')


def test_a_message_arriving_is_one_step(engine, people):
    deploy(engine, {"meddelande.bpmn": MESSAGE}, {"svar.json": json.dumps(FORM)})
    seen = before(engine)
    case = start_case(engine, "meddelande", pupil_id=people.pupil, by=people.teacher)
    assert_one_step(engine, "start", seen, case.id, "case_started")
    assert messages.waiting_messages(engine, case.id) == ["dokument_inkommit"] and ready(engine,
                                                                                         case.id) == []
    seen = before(engine, case.id)
    assert messages.deliver(engine, case.id, "dokument_inkommit", by=people.teacher) == "running"
    assert_one_step(engine, "message", seen, case.id, "message_received", "task_created")


def test_moving_a_case_to_a_new_version_is_one_step(engine, people, chain):
    case = started(engine, people)
    owner = add_process_owner(engine, people.unit)
    draft = editing.open_draft(engine, chain.id, by=owner)
    draft = editing.save(engine, draft.id, by=owner, seen=0,
                         bpmn=with_follow_up(draft.files[draft.main_file]))
    version = editing.publish(engine, draft.id, by=owner, note="ändring")
    seen = before(engine, case.id)
    [move] = migration.migrate(engine, "stodkedja", by=owner)
    assert move.moved
    assert_one_step(engine, "migration", seen, case.id, "case_migrated")
    assert get_case(engine, case.id).process_version_id == version.id


NAMED = process("""<bpmn:userTask id="Task_1" name="Utse ansvarig">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="svar.json"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Task_1" targetRef="Task_2"/>
    <bpmn:userTask id="Task_2" name="Följ upp">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="assigneeFrom" value="ansvarig"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_2" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>""", lane_nodes=("Task_1", "Task_2"), key="namngiven")


def test_a_refused_change_is_no_step_and_a_failed_one_leaves_no_cached_workflow(engine, people):
    deploy(engine, {"t.bpmn": NAMED}, {"svar.json": json.dumps({**FORM, "properties": {
        "ansvarig": {"type": "integer"}}})})
    case = start_case(engine, "namngiven", pupil_id=people.pupil, by=people.teacher)
    [task] = ready(engine, case.id)
    seen = before(engine, case.id)
    with pytest.raises(PermissionDeniedError):  # refused before its case was loaded: the cache stays
        cancel_case(engine, case.id, by=people.teacher, reason="Fel ärende.")
    assert engine.live.held(case.id) == seen.row_version == 1
    # The form names an outsider (a teacher at another unit) for the next task, who may not take it: the
    # step fails as it saves, after it loaded the case's workflow from the cache.
    with pytest.raises(NotStaffError):
        complete_task(engine, task.id, {"ansvarig": people.outsider}, by=people.teacher)
    assert engine.db.stats.steps == seen.steps and engine.db.stats.commits == seen.commits
    assert get_case(engine, case.id).row_version == seen.row_version
    assert [t.id for t in ready(engine, case.id)] == [task.id]
    assert engine.live.held(case.id) is None  # what it held is gone; the next step reads the stored state
    misses = engine.live.misses
    complete_task(engine, task.id, {"ansvarig": people.mentor}, by=people.teacher)
    assert engine.live.misses == misses + 1
    assert_one_step(engine, "complete", seen, case.id, "task_completed", "task_assigned")


def test_an_unknown_kind_of_step_is_refused_before_anything_is_written(engine):
    commits = engine.db.stats.commits
    with pytest.raises(ValueError, match="unknown kind of step 'edit'"):
        with step(engine, "edit", None):
            pass
    assert engine.db.stats.commits == commits


def test_only_the_protocol_saves_a_case_or_keeps_its_workflow():
    """Nothing but runner.py finishes a run (saving case, task rows, timers, audit) or puts a workflow in
    the live cache; so a state change cannot bypass the protocol without this failing."""
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                owner = node.func.value
                if name == "finish" or (name == "put" and isinstance(owner, ast.Attribute)
                                        and owner.attr == "live"):
                    found.append(path.name)
    assert set(found) == {"runner.py"}
    assert set(KINDS) == {"start", "complete", "sign", "cancel", "message", "timer", "migration"}


def test_a_case_saved_meanwhile_is_a_conflict_and_the_step_writes_nothing(engine, people, chain):
    """The save's `row_version` guard holds however the step's writes are sent (on PostgreSQL they go
    together, and the guard's result is checked before the commit)."""
    case = started(engine, people)
    seen = before(engine, case.id)
    with pytest.raises(ConflictError, match="changed"):
        with step(engine, "cancel", people.rektor) as current:
            run = current.load(current.lock(case.id))
            run.workflow.cancel()
            current.ending = "cancelled"
            # what a writer that did not lock the row would have done between the load and the save
            current.tx.execute(Sql("UPDATE cases SET row_version = row_version + 1 WHERE id = :id"),
                               {"id": case.id})
    assert engine.db.stats.steps == seen.steps and engine.db.stats.commits == seen.commits
    assert get_case(engine, case.id).row_version == seen.row_version
    assert get_case(engine, case.id).status == "running" and len(ready(engine, case.id)) == 1
    assert engine.live.held(case.id) is None
    with engine.db.read() as s:
        assert s.scalar(select(func.max(AuditEvent.seq))) == seen.seq
    assert verify_audit(engine).ok


def test_a_failing_write_sent_with_the_others_rolls_the_whole_step_back(engine, people, chain):
    """A statement whose error only comes back with a later one (PostgreSQL's pipeline) still fails the
    step before its commit, and nothing of it is written."""
    case = started(engine, people)
    [task] = ready(engine, case.id)
    seen = before(engine, case.id)
    with pytest.raises(IntegrityError):
        with step(engine, "complete", people.teacher) as current:
            run = current.load(current.lock(case.id))
            current.tx.send_together()
            current.tx.execute(Sql("UPDATE tasks SET case_id = :missing WHERE id = :id"),
                               {"missing": 10**9, "id": current.tx.uuid(task.id)})  # no such case
            run.workflow.cancel()
            current.ending = "cancelled"
    assert engine.db.stats.commits == seen.commits
    assert get_case(engine, case.id).row_version == seen.row_version
    assert [t.id for t in ready(engine, case.id)] == [task.id]
    assert verify_audit(engine).ok
    complete_task(engine, task.id, REPORT, by=people.teacher)  # the connection is fit for the next step
    assert get_case(engine, case.id).row_version == seen.row_version + 1


def unit_name(engine, unit_id):
    with engine.db.read() as s:
        return s.scalar(select(SchoolUnit.name).where(SchoolUnit.id == unit_id))


def test_rows_another_part_of_the_engine_adds_to_a_step_commit_and_roll_back_with_it(engine, people, chain):
    """`Run.also`: a write added to the step goes in its transaction, before its audit events."""
    rename = Sql("UPDATE school_units SET name = :name WHERE id = :id")
    case = started(engine, people)
    seen = before(engine, case.id)
    with step(engine, "cancel", people.rektor) as current:
        run = current.load(current.lock(case.id))
        run.workflow.cancel()
        current.ending = "cancelled"
        run.event("case_cancelled", reason="test")
        run.also.append(lambda tx: tx.execute(rename, {"name": "Omdöpt", "id": people.unit}))
    assert unit_name(engine, people.unit) == "Omdöpt"
    assert_one_step(engine, "cancel", seen, case.id, "case_cancelled")

    other = started(engine, people)
    with pytest.raises(ConflictError):
        with step(engine, "cancel", people.rektor) as current:
            run = current.load(current.lock(other.id))
            run.workflow.cancel()
            current.ending = "cancelled"
            run.also.append(lambda tx: tx.execute(rename, {"name": "Ångrat", "id": people.unit}))
            current.tx.execute(Sql("UPDATE cases SET row_version = row_version + 1 WHERE id = :id"),
                               {"id": other.id})
    assert unit_name(engine, people.unit) == "Omdöpt"
