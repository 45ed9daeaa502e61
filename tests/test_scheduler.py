"""The scheduler: due work done exactly once, however many schedulers run, and caught up after downtime."""
from __future__ import annotations

import gc
import multiprocessing
import sqlite3
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from click.testing import CliRunner
from conftest import REPORT
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from elevflow.cli import main
from elevflow.engine import Engine, complete_task, list_tasks, start_case, verify_audit
from elevflow.engine.runtime.scheduler import run_once, start_background
from elevflow.engine.runtime.timers import RETRY_AFTER, fire_one
from elevflow.engine.storage.models import AuditEvent, Case, TaskRow, Timer


def waiting_cases(engine, people, count, when):
    """`count` cases waiting in the investigation with its two-week boundary timer, started at `when`."""
    with time_machine.travel(when, tick=False):
        ids = []
        for _ in range(count):
            case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
            complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT,
                          by=people.teacher)
            ids.append(case.id)
    return ids


def row_versions(engine, cases) -> dict[int, int]:
    with engine.db.read() as s:
        return dict(s.execute(select(Case.id, Case.row_version).where(Case.id.in_(cases))).all())


def scheduler_process(url, barrier):
    """One scheduler host: rounds until a round finds nothing to do."""
    engine = Engine.from_settings(database_url=url)
    try:
        barrier.wait()
        for _ in range(50):
            if not run_once(engine):
                break
    finally:
        engine.close()


def test_three_schedulers_on_postgresql_do_each_piece_of_work_once(engine, db_url, people, chain):
    if not db_url.startswith("postgresql"):
        pytest.skip("several scheduler hosts share a PostgreSQL database")
    count = 48
    cases = waiting_cases(engine, people, count, datetime.now(timezone.utc) - timedelta(days=20))
    versions_before = row_versions(engine, cases)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(3)
        procs = [ctx.Process(target=scheduler_process, args=(db_url, barrier)) for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0, 0]
    with engine.db.read() as s:
        fired = Counter(s.scalars(select(AuditEvent.case_id).where(AuditEvent.kind == "timer_fired")))
        escalations = Counter(s.scalars(select(AuditEvent.case_id).where(
            AuditEvent.kind == "task_created", AuditEvent.data["bpmn_id"].as_string() == "Task_paminnelse")))
        notices = Counter((e.data["task_id"], e.data["to"]) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.kind.in_(["deadline_reminder", "deadline_escalated"]))))
        assert s.scalar(select(func.count()).select_from(Timer)) == 0
    assert fired == {case: 1 for case in cases}
    assert escalations == {case: 1 for case in cases}
    # one step per case, and no empty one: a scheduler that claimed a timer another had just fired
    # used to save its case again (state rewritten, version bumped, no audit event)
    assert row_versions(engine, cases) == {case: version + 1 for case, version in versions_before.items()}
    assert not notices or max(notices.values()) == 1
    for case in cases:
        assert [t.bpmn_id for t in list_tasks(engine, case_id=case, state="ready")] == ["Task_paminnelse"]
    # each new task opened due within a day, inside its reminder window: its reminder was skipped, once
    # (level 0 to 1, its next notice the escalation a business day after the due time), by one scheduler
    with engine.db.read() as s:
        levels = Counter(s.scalars(select(TaskRow.notice_level).where(
            TaskRow.case_id.in_(cases), TaskRow.state == "ready")))
    assert levels == {1: count}
    assert verify_audit(engine).ok


def test_timers_that_fell_due_while_nothing_ran_fire_at_the_first_round(engine, people, chain):
    cases = waiting_cases(engine, people, 3, datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))
    with time_machine.travel(datetime(2027, 2, 1, 9, 0, tzinfo=timezone.utc), tick=False):
        done = run_once(engine)
        assert done.timers == 3 and done.notices > 0
        assert not run_once(engine)  # a second round finds nothing
    for case in cases:
        assert list_tasks(engine, case_id=case, state="ready")[0].bpmn_id == "Task_paminnelse"


def test_a_timer_whose_case_has_nothing_to_fire_saves_no_empty_step(engine, people, chain):
    """A timer row claimed as due while the case's workflow has nothing to fire — its clock says not yet,
    or another scheduler fired it an instant before — changes nothing but the row's next try."""
    started = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    [case] = waiting_cases(engine, people, 1, started)
    version = row_versions(engine, [case])[case]
    with engine.db.read() as s:
        last_event = s.scalar(select(func.max(AuditEvent.seq)))
    claimed_at = started + timedelta(days=15)
    with time_machine.travel(started + timedelta(days=1), tick=False):  # the workflow's clock: not yet
        assert fire_one(engine, claimed_at) is True
    assert row_versions(engine, [case]) == {case: version}
    with engine.db.read() as s:
        assert s.scalar(select(func.max(AuditEvent.seq))) == last_event
        assert s.scalar(select(Timer.due_at).where(Timer.case_id == case)) == claimed_at + RETRY_AFTER
    assert [t.bpmn_id for t in list_tasks(engine, case_id=case, state="ready")] == ["Task_utredning"]
    # due by both clocks once the instant has passed (SpiffWorkflow fires after it, and so does the claim)
    with time_machine.travel(claimed_at + RETRY_AFTER + timedelta(seconds=1), tick=False):
        assert fire_one(engine) is True
    assert row_versions(engine, [case]) == {case: version + 1}
    assert [t.bpmn_id for t in list_tasks(engine, case_id=case, state="ready")] == ["Task_paminnelse"]


def test_no_garbage_collection_starts_while_a_timer_step_holds_sqlites_write_lock(engine, db_url, people,
                                                                                  chain):
    """A full collection pauses the process for 100 ms or more (benchmarks/timers.py): with the write
    lock held, every other writer waits behind it. So none starts inside a SQLite write transaction — a
    second connection, asked at each collection's start, can always take the lock — and the collections
    that fell due meanwhile run once the lock is released."""
    if engine.db.dialect != "sqlite":
        pytest.skip("SQLite's one write lock; PostgreSQL's writers do not wait for one another's steps")
    cases = waiting_cases(engine, people, 3, datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))
    engine.live.clear()  # each step loads its case: the allocations of a real one
    other = sqlite3.connect(make_url(db_url).database, isolation_level=None, timeout=0)
    starts = {"lock free": 0, "lock held": 0}

    def observe(phase: str, _info: dict) -> None:
        if phase != "start":
            return
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked
            starts["lock held"] += 1
        else:
            other.execute("ROLLBACK")
            starts["lock free"] += 1

    thresholds = gc.get_threshold()
    gc.set_threshold(1)  # a collection is due at almost every allocation
    gc.callbacks.append(observe)
    try:
        with time_machine.travel(datetime(2027, 2, 1, 9, 0, tzinfo=timezone.utc), tick=False):
            done = run_once(engine)
    finally:
        gc.callbacks.remove(observe)
        gc.set_threshold(*thresholds)
        other.close()
    assert done.timers == 3 and gc.isenabled()
    assert starts["lock held"] == 0 and starts["lock free"] > 0, starts
    for case in cases:
        assert list_tasks(engine, case_id=case, state="ready")[0].bpmn_id == "Task_paminnelse"


def test_a_round_with_nothing_due_loads_no_case(engine, people, chain, monkeypatch):
    waiting_cases(engine, people, 2, datetime.now(timezone.utc))
    from elevflow.engine.runtime import runner
    loaded = []
    monkeypatch.setattr(runner.state, "load", lambda *a, **k: loaded.append(a) or None)
    engine.live.clear()
    assert not run_once(engine)
    assert loaded == []


def test_the_command_runs_one_round(db_url, people, chain):
    from elevflow.engine import Engine as D
    engine = D.from_settings(database_url=db_url)
    try:
        waiting_cases(engine, people, 1, datetime.now(timezone.utc) - timedelta(days=30))
    finally:
        engine.close()
    result = CliRunner().invoke(main, ["--database", db_url, "scheduler", "--once"])
    assert result.exit_code == 0 and "timers 1" in result.output


def test_the_background_scheduler_runs_rounds_in_this_process(engine, people, chain):
    import threading
    cases = waiting_cases(engine, people, 1, datetime.now(timezone.utc) - timedelta(days=30))
    done = threading.Event()
    from elevflow.engine.runtime import scheduler as module
    original = module.run_once

    def watched(database, now=None):
        result = original(database, now)
        done.set()
        return result

    module.run_once = watched
    try:
        background = start_background(engine, interval=3600)
        assert done.wait(10)
        background.shutdown()
    finally:
        module.run_once = original
    assert list_tasks(engine, case_id=cases[0], state="ready")[0].bpmn_id == "Task_paminnelse"
