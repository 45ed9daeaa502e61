"""One lock order for every step: a user completing a task as its boundary timer fires never deadlocks.

On PostgreSQL a completion used to lock its task and then its case, while a timer step locks the case
and then cancels the task: the two could deadlock. Now every step locks the case first (runner.py).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from conftest import REPORT
from sqlalchemy import create_engine, text

from elevflow.engine import ConflictError, Engine, complete_task, list_tasks, start_case, verify_audit
from elevflow.engine.runtime.timers import fire_one

ANSWER = {"behov": "ja", "bedomning": "Behöver stöd i läsförståelse."}


@pytest.fixture
def postgres(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks and deadlocks are PostgreSQL's (SQLite has one writer at a time)")
    return db_url


def investigations_due(engine, people, count):
    """`count` investigations (Specialpedagog lane) whose two-week boundary timer is due now."""
    with time_machine.travel(datetime.now(timezone.utc) - timedelta(days=15), tick=False):
        found = []
        for _ in range(count):
            case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
            complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT,
                          by=people.teacher)
            found.append(list_tasks(engine, case_id=case.id, state="ready")[0])
    return found


def in_thread(url: str, work: Callable[[Engine], object], outcome: dict, key: str,
              start: threading.Barrier | None = None) -> threading.Thread:
    """Run `work` on a Database of its own (like another worker), keeping what it returned or raised."""
    def run() -> None:
        database = Engine.from_settings(database_url=url)
        try:
            if start is not None:
                start.wait()
            outcome[key] = work(database)
        except BaseException as exc:  # handed back to the test
            outcome[key] = exc
        finally:
            database.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def complete(task_id, by) -> Callable[[Engine], object]:
    return lambda database: complete_task(database, task_id, ANSWER, by=by)


def lock_waits(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND wait_event_type = 'Lock'")).scalar()


def until(condition: Callable[[], bool], done: Callable[[], bool] = lambda: False) -> None:
    """Poll the database until `condition` holds (or `done`: the thread finished instead); no sleeping."""
    deadline = datetime.now(timezone.utc) + timedelta(seconds=30)
    while not condition() and not done():
        assert datetime.now(timezone.utc) < deadline, "the expected lock wait never came"


def test_a_completion_holding_the_case_makes_the_timer_pass_it_by_not_deadlock(engine, postgres, people,
                                                                               chain,
                                                                                caplog):
    """The interleaving that deadlocked: the completion has the task when the timer wants it."""
    caplog.set_level(logging.INFO, logger="elevflow.engine.runtime.timers")
    [task] = investigations_due(engine, people, 1)
    other = create_engine(postgres)
    outcome: dict = {}
    with other.connect() as blocker, other.connect() as watch:
        watch.execution_options(isolation_level="AUTOCOMMIT")
        blocker.execute(text("SELECT 1 FROM tasks WHERE id = :id FOR NO KEY UPDATE"), {"id": task.id})
        completing = in_thread(postgres, complete(task.id, people.specialpedagog),
                               outcome, "completion")
        until(lambda: lock_waits(watch) == 1)  # the completion waits for the task row
        firing = in_thread(postgres, fire_one, outcome, "timer")
        until(lambda: lock_waits(watch) == 2, done=lambda: not firing.is_alive())
        blocker.rollback()  # the task row is free: let them meet
        completing.join()
        firing.join()
    other.dispose()
    assert outcome["completion"].case_status == "running"
    assert outcome["timer"] is False  # the case was a completion's: the timer had nothing to claim
    assert not [r for r in caplog.records if "concurrent step" in r.getMessage()]  # no deadlock met
    assert [t.bpmn_id for t in list_tasks(engine, case_id=task.case_id, state="ready")] == ["Task_beslut"]
    assert fire_one(engine) is False  # the boundary timer went with its task
    assert verify_audit(engine).ok


def test_completions_racing_the_boundary_timer_lose_with_a_conflict_never_a_deadlock(engine, postgres, people,
                                                                                   chain, caplog):
    caplog.set_level(logging.INFO, logger="elevflow.engine.runtime.timers")
    rounds = 30
    outcomes = []
    for _ in range(rounds):  # one due timer at a time, so the timer claims this round's case
        [task] = investigations_due(engine, people, 1)
        outcome: dict = {}
        start = threading.Barrier(2)
        user_step = complete(task.id, people.specialpedagog)
        threads = [in_thread(postgres, user_step, outcome, "completion", start),
                   in_thread(postgres, fire_one, outcome, "timer", start)]
        for thread in threads:
            thread.join()
        outcomes.append((task, outcome))
    for task, outcome in outcomes:
        completion = outcome["completion"]
        assert not isinstance(completion, BaseException) or isinstance(completion, ConflictError), completion
        assert not isinstance(outcome["timer"], BaseException), outcome["timer"]
        open_now = [t.bpmn_id for t in list_tasks(engine, case_id=task.case_id, state="ready")]
        if isinstance(completion, ConflictError):  # the timer won: task cancelled, the reminder open
            assert "already cancelled" in str(completion)
            assert open_now == ["Task_paminnelse"]
        else:  # the user won: the timer went with the task
            assert open_now == ["Task_beslut"]
    assert not [r for r in caplog.records if "concurrent step" in r.getMessage()]
    assert fire_one(engine) is False
    assert verify_audit(engine).ok
