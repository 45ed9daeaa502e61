"""Running cases: every step persisted with its task rows and audit events, or nothing at all."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from bpmn_builder import FORM, script
from conftest import REPORT, ready, sign
from sqlalchemy import func, select

from elevflow.engine import (
    DataNotJSONError,
    NotFoundError,
    PermissionDeniedError,
    cancel_case,
    case_data,
    complete_task,
    deploy,
    get_case,
    list_tasks,
    start_case,
)
from elevflow.engine.runtime import timers
from elevflow.engine.storage import state
from elevflow.engine.storage.models import AuditEvent, Case, Timer


def kinds(engine, case_id):
    with engine.db.read() as s:
        return [e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                          .order_by(AuditEvent.seq))]


def test_starting_a_case_creates_its_first_task_row_and_audit_events(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert case.status == "running" and case.unit_id == people.unit and case.process_version_id == chain.id
    [task] = ready(engine, case.id)
    assert (task.bpmn_id, task.name, task.role, task.unit_id, task.pupil_id, task.form) == \
        ("Task_anmalan", "Anmäl till rektor", "larare", people.unit, people.pupil, "anmalan.json")
    assert task.due_at - task.created_at == timedelta(weeks=1)
    assert kinds(engine, case.id) == ["case_started", "task_created"]
    with engine.db.read() as s:
        started = s.scalars(select(AuditEvent).where(AuditEvent.kind == "case_started")).one()
    assert (started.actor_id, started.pupil_id, started.unit_id) == \
        (people.teacher, people.pupil, people.unit)


def test_the_whole_chain_runs_to_its_end_with_every_step_logged(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    [investigation] = ready(engine, case.id)
    assert investigation.bpmn_id == "Task_utredning" and investigation.role == "specialpedagog"
    complete_task(engine, investigation.id, {"behov": "ja"}, by=people.specialpedagog)
    [decision] = ready(engine, case.id)
    # dueFrom: five weeks from the report date the teacher gave, not from when the task appeared
    assert decision.due_at == datetime(2026, 12, 25, 22, 59, tzinfo=timezone.utc)  # 23:59 Swedish time
    result = sign(engine, decision.id, {"beslut": "atgardsprogram"}, by=people.rektor)
    assert result.case_status == "completed"
    case = get_case(engine, case.id)
    assert case.status == "completed" and case.ended_at is not None
    assert ready(engine, case.id) == []
    assert [t.state for t in list_tasks(engine, case_id=case.id)] == ["completed"] * 3
    assert kinds(engine, case.id) == [
        "case_started", "task_created", "task_completed", "task_created", "task_completed",
        "gateway_taken", "task_created", "task_completed", "decision_signed", "case_completed"]
    with engine.db.read() as s:
        gateway = s.scalars(select(AuditEvent).where(AuditEvent.kind == "gateway_taken")).one()
    assert gateway.data["taken"] == ["Task_beslut"]
    assert case_data(engine, case.id)["beslut"] == "atgardsprogram"


def test_the_other_branch_of_the_gateway(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, {"behov": "nej"}, by=people.specialpedagog)
    assert get_case(engine, case.id).status == "completed"
    with engine.db.read() as s:
        gateway = s.scalars(select(AuditEvent).where(AuditEvent.kind == "gateway_taken")).one()
    assert gateway.data["taken"] == ["End_ingetbehov"]


def test_a_boundary_timer_fires_cancels_the_task_and_opens_the_escalation(engine, people, chain):
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), tick=False):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
        [investigation] = ready(engine, case.id)
        with engine.db.read() as s:
            [timer] = s.scalars(select(Timer).where(Timer.case_id == case.id)).all()
        assert timer.bpmn_id == "Timer_utredning"
        assert timer.due_at == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
        assert timers.fire_due(engine) == 0  # nothing due yet: no case is loaded
    with time_machine.travel(datetime(2026, 12, 7, 9, 1, tzinfo=timezone.utc), tick=False):
        assert timers.fire_due(engine) == 1
    [late] = ready(engine, case.id)
    assert late.bpmn_id == "Task_paminnelse" and late.role == "rektor"  # escalated to the rektor
    assert late.due_at == datetime(2026, 12, 8, 9, 1, tzinfo=timezone.utc)
    assert {t.bpmn_id: t.state for t in list_tasks(engine, case_id=case.id)}["Task_utredning"] == "cancelled"
    assert kinds(engine, case.id)[-3:] == ["timer_fired", "task_cancelled", "task_created"]
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Timer)) == 0


def test_a_timer_that_fell_due_while_nothing_ran_fires_when_the_scheduler_comes_back(engine, people, chain):
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), tick=False):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    with time_machine.travel(datetime(2027, 3, 1, tzinfo=timezone.utc), tick=False):
        assert timers.fire_due(engine) == 1
    assert ready(engine, case.id)[0].bpmn_id == "Task_paminnelse"


def test_state_is_stored_without_the_spec_and_with_the_serializer_version(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    with engine.db.read() as s:
        row = s.get(Case, case.id)
    stored = json.loads(row.state)
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert row.serializer_version == state.SERIALIZER_VERSION
    assert b"Task_anmalan" in row.state and b"formJsonSchemaFilename" not in row.state


def test_an_ended_case_is_stored_compressed_and_still_loads(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, {"behov": "nej"}, by=people.specialpedagog)
    with engine.db.read() as s:
        blob = s.get(Case, case.id).state
    assert blob[:1] == b"z" and len(blob) < 2000
    assert case_data(engine, case.id)["behov"] == "nej"


def test_a_case_saved_by_an_older_serializer_is_migrated_on_load(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    engine.live.clear()
    with engine.db.write() as s:
        s.get(Case, case.id).serializer_version = "1.4"
    [task] = ready(engine, case.id)
    complete_task(engine, task.id, REPORT, by=people.teacher)
    with engine.db.read() as s:
        assert s.get(Case, case.id).serializer_version == state.SERIALIZER_VERSION


def test_a_step_continues_correctly_after_another_worker_changed_the_case(engine, people, chain):
    from elevflow.engine import Engine
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    other = Engine.from_settings(database_url=engine.db.url)  # a second web worker
    try:
        complete_task(other, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    finally:
        other.close()
    # this worker still holds the case's previous state in memory; it must not use it
    complete_task(engine, ready(engine, case.id)[0].id, {"behov": "nej"}, by=people.specialpedagog)
    assert get_case(engine, case.id).status == "completed"
    assert case_data(engine, case.id)["beskrivning"] == REPORT["beskrivning"]


def test_start_data_that_is_not_json_is_refused_and_nothing_is_stored(engine, people, chain):
    with pytest.raises(DataNotJSONError, match="set"):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher, data={"x": {1, 2}})
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_a_script_that_puts_non_json_in_task_data_fails_the_step_and_changes_nothing(engine, people):
    forms = {"svar.json": json.dumps(FORM)}
    deploy(engine, {"test.bpmn": script("d = {'a', 'b'}")}, forms)
    case = start_case(engine, "testprocess", pupil_id=people.pupil, by=people.teacher)
    [task] = ready(engine, case.id)
    before = kinds(engine, case.id)
    with pytest.raises(DataNotJSONError, match="'d'.*set"):
        complete_task(engine, task.id, {"svar": "ja"}, by=people.teacher)
    # the step left nothing behind; then the case recorded why it stopped (elevflow.engine.runtime.failures)
    assert ready(engine, case.id)[0].id == task.id and kinds(engine, case.id) == [*before, "step_failed"]
    assert get_case(engine, case.id).row_version == case.row_version
    assert "'d'" in get_case(engine, case.id).error


def test_an_outsider_cannot_start_a_case_at_another_unit(engine, people, chain):
    with pytest.raises(PermissionDeniedError):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.outsider)


def test_unknown_pupil_and_routine_are_clear_errors(engine, people, chain):
    with pytest.raises(NotFoundError, match="pupil 999"):
        start_case(engine, "stodkedja", pupil_id=999, by=people.teacher)
    with pytest.raises(NotFoundError, match="okand"):
        start_case(engine, "okand", pupil_id=people.pupil, by=people.teacher)


def test_cancelling_a_case_cancels_its_tasks_and_timers_and_logs_the_reason(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    with pytest.raises(PermissionDeniedError):
        cancel_case(engine, case.id, by=people.teacher, reason="fel elev")
    ended = cancel_case(engine, case.id, by=people.rektor, reason="Eleven har flyttat")
    assert ended.status == "cancelled" and ready(engine, case.id) == []
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Timer)) == 0
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "case_cancelled")).one()
    assert event.data == {"reason": "Eleven har flyttat"}


def test_a_new_version_does_not_move_running_cases(engine, people, chain):
    old = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    import shutil
    import tempfile
    from pathlib import Path

    from conftest import FIXTURES, REPORT, ready

    from elevflow.engine import deploy_path
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "stodkedja"
        shutil.copytree(FIXTURES / "stodkedja", folder)
        bpmn = folder / "stodkedja.bpmn"
        bpmn.write_text(bpmn.read_text().replace('value="P1W"', 'value="P2W"'))
        [v2] = deploy_path(engine, folder, shared_dir=folder / "none")
    new = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert (get_case(engine, old.id).process_version_id, new.process_version_id) == (chain.id, v2.id)
    complete_task(engine, ready(engine, old.id)[0].id, REPORT, by=people.teacher)
    assert ready(engine, old.id)[0].bpmn_id == "Task_utredning"


def test_an_organiser_overrides_a_deadline_without_touching_the_diagram(engine, people, chain, tmp_path,
                                                                         monkeypatch):
    from elevflow.engine.expressions import deadlines
    rules = tmp_path / "frister.toml"
    rules.write_text('[stodkedja]\nTask_anmalan = "3BD"\n', encoding="utf-8")
    monkeypatch.setattr(engine, "deadlines", deadlines.load_config(rules))
    with time_machine.travel(datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc), tick=False):  # a Friday
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert ready(engine, case.id)[0].due_at == datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)
    rules.write_text('[stodkedja]\nTask_anmalan = "snart"\n', encoding="utf-8")
    with pytest.raises(Exception, match="Task_anmalan.*snart"):
        deadlines.load_overrides(rules)
