"""Moving running cases to a new version: a dry run that says why each case can or cannot move, and a
real move that is audited and keeps task rows and timers consistent."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from conftest import REPORT, ready
from editing_helpers import add_process_owner, with_follow_up, with_report_due_in, without_report
from sqlalchemy import select

from elevflow.cli import main
from elevflow.engine import (
    NotFoundError,
    PermissionDeniedError,
    complete_task,
    deploy_path,
    get_case,
    sign_decision,
    start_case,
    verify_audit,
)
from elevflow.engine.routines import editing
from elevflow.engine.runtime import migration
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import Timer

START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def owner(engine, people):
    return add_process_owner(engine, people.unit)


def publish(engine, chain, owner, change):
    draft = editing.open_draft(engine, chain.id, by=owner)
    draft = editing.save(engine, draft.id, by=owner, seen=0, bpmn=change(draft.files[draft.main_file]))
    return editing.publish(engine, draft.id, by=owner, note="ändring")


def timers_of(engine, case_id):
    with engine.db.read() as s:
        return [(t.bpmn_id, t.due_at) for t in s.scalars(select(Timer).where(Timer.case_id == case_id))]


def test_a_case_moves_when_the_change_lies_ahead_of_it(engine, people, chain, owner):
    with time_machine.travel(START, tick=False):
        at_report = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        at_investigation = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, ready(engine, at_investigation.id)[0].id, REPORT, by=people.teacher)
    timer_before = timers_of(engine, at_investigation.id)
    open_before = {c: [t.id for t in ready(engine, c)] for c in (at_report.id, at_investigation.id)}
    version = publish(engine, chain, owner, with_follow_up)

    report = migration.plan(engine, "stodkedja", by=owner)
    assert [(m.case_id, m.movable, m.from_version, m.to_version) for m in report] == [
        (at_report.id, True, 1, 2), (at_investigation.id, True, 1, 2)]
    assert get_case(engine, at_report.id).process_version_id == chain.id  # the dry run moved nothing

    with time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc), tick=False):
        moved = migration.migrate(engine, "stodkedja", by=owner)
    assert all(m.moved for m in moved)
    for case_id in (at_report.id, at_investigation.id):
        assert get_case(engine, case_id).process_version_id == version.id
        assert [t.id for t in ready(engine, case_id)] == open_before[case_id]  # the same open task rows
    assert timers_of(engine, at_investigation.id) == timer_before  # the timer was not restarted
    events = [e for e in audit.events(engine) if e.kind == "case_migrated"]
    assert {(e.case_id, e.actor_id, e.data["from_version"], e.data["to_version"]) for e in events} == {
        (at_report.id, owner, 1, 2), (at_investigation.id, owner, 1, 2)}

    complete_task(engine, ready(engine, at_investigation.id)[0].id, {"behov": "ja"}, by=people.specialpedagog)
    sign_decision(engine, ready(engine, at_investigation.id)[0].id, {"beslut": "atgardsprogram"},
                  by=people.rektor,
                  reauthenticated_at=datetime.now(timezone.utc))
    [follow_up] = ready(engine, at_investigation.id)
    assert follow_up.bpmn_id == "Task_uppfoljning"  # the moved case runs on the new version
    assert verify_audit(engine).ok


def test_the_dry_run_says_why_a_case_cannot_move(engine, people, chain, owner):
    at_report = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    passed_report = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, passed_report.id)[0].id, REPORT, by=people.teacher)
    publish(engine, chain, owner, without_report)
    report = {m.case_id: m for m in migration.plan(engine, "stodkedja", by=owner)}
    assert not report[at_report.id].movable and not report[passed_report.id].movable
    assert "it is at 'Anmäl till rektor', which version 2 removes" in report[at_report.id].reasons
    assert any("it has passed 'Anmäl till rektor'" in r for r in report[passed_report.id].reasons)
    moved = migration.migrate(engine, "stodkedja", by=owner)
    assert not any(m.moved for m in moved)
    assert get_case(engine, at_report.id).process_version_id == chain.id
    assert not [e for e in audit.events(engine) if e.kind == "case_migrated"]


def test_a_case_at_a_changed_step_waits_until_it_is_done(engine, people, chain, owner):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    publish(engine, chain, owner, lambda x: with_report_due_in(x, "P2W"))
    [move] = migration.plan(engine, "stodkedja", by=owner)
    assert not move.movable and "which version 2 changes" in move.reasons[0]
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    [move] = migration.migrate(engine, "stodkedja", by=owner)
    assert move.moved


def test_only_process_owners_move_cases_and_unknown_cases_change_nothing(engine, people, chain, owner):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    publish(engine, chain, owner, with_follow_up)
    with pytest.raises(PermissionDeniedError):
        migration.migrate(engine, "stodkedja", by=people.rektor)
    with pytest.raises(NotFoundError):
        migration.migrate(engine, "stodkedja", by=owner, case_ids=[case.id, 999])
    with pytest.raises(NotFoundError):
        migration.plan(engine, "stodkedja", 7, by=owner)
    assert get_case(engine, case.id).process_version_id == chain.id


def test_the_command_line_dry_run_and_move(engine, db_url, people, chain, owner):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    publish(engine, chain, owner, with_follow_up)
    runner = CliRunner()
    command = ["--database", db_url, "migrate", "stodkedja", "--as", "processagare"]
    dry = runner.invoke(main, [*command, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"case {case.id}" in dry.output and "can move" in dry.output
    assert get_case(engine, case.id).process_version_id == chain.id
    real = runner.invoke(main, command)
    assert real.exit_code == 0, real.output
    assert "moved" in real.output
    assert get_case(engine, case.id).process_version_id != chain.id


def test_the_command_line_exports_a_version(engine, db_url, people, chain, owner, tmp_path):
    publish(engine, chain, owner, with_follow_up)
    runner = CliRunner()
    first = runner.invoke(main, ["--database", db_url, "export", "stodkedja", "--version", "1"])
    assert first.exit_code == 0 and "Task_uppfoljning" not in first.output
    out = tmp_path / "ny.bpmn"
    newest = runner.invoke(main, ["--database", db_url, "export", "stodkedja", "-o", str(out)])
    assert newest.exit_code == 0 and "Task_uppfoljning" in out.read_text()


def test_a_shipped_routine_with_call_activities_moves(engine, people, owner):
    processes = Path(__file__).resolve().parent.parent / "processes"
    [first] = deploy_path(engine, processes / "sarskilt_stod", shared_dir=processes / "shared")
    case = start_case(engine, "sarskilt_stod", pupil_id=people.pupil, by=people.teacher)
    [task] = ready(engine, case.id)
    second = publish(engine, first, owner, lambda xml: xml.replace(
        'name="Besluta om åtgärdsprogram"', 'name="Besluta om åtgärdsprogram (rektor)"'))
    [move] = migration.migrate(engine, "sarskilt_stod", by=owner)
    assert move.moved, move.reasons
    assert get_case(engine, case.id).process_version_id == second.id
    assert [t.id for t in ready(engine, case.id)] == [task.id]
    assert verify_audit(engine).ok
