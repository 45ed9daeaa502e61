"""The conformance suite: each small model (models.py) deployed, started, its tasks completed and its
timers fired by the scheduler, the case saved and loaded again between every step (the live cache is
emptied), on SQLite and PostgreSQL. Each scenario says what the case must do, step by step.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from elevflow.engine import complete_task, deploy, get_case, list_tasks, start_case
from elevflow.engine.runtime import messages, timers
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import Timer

from .models import CALLED, MODELS

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)

# model -> the scenario: ("tasks", {bpmn ids of the ready tasks, with repeats as a sorted list}),
# ("complete", bpmn id, data), ("later", timedelta) - the scheduler fires what is due -, ("message", name),
# ("status", case status), ("events", {audit kind: least count}).
SCENARIOS: dict[str, list[tuple]] = {
    "user_task": [("tasks", ["Task_a"]), ("complete", "Task_a", {}), ("status", "completed")],
    "manual_task": [("tasks", ["Task_a"]), ("complete", "Task_a", {}), ("status", "completed")],
    "script_task": [("tasks", ["Task_a"]), ("complete", "Task_a", {}), ("status", "completed")],
    "exclusive_gateway": [
        ("complete", "Task_a", {"svar": "ja"}),
        ("tasks", ["Task_yes"]),
        ("complete", "Task_yes", {}),
        ("status", "completed"),
        ("events", {"gateway_taken": 1}),
    ],
    "parallel_gateway": [
        ("tasks", ["Task_a", "Task_b"]),
        ("complete", "Task_a", {}),
        ("tasks", ["Task_b"]),
        ("complete", "Task_b", {}),
        ("status", "completed"),
    ],
    "inclusive_gateway": [("tasks", ["Task_a"]), ("complete", "Task_a", {}), ("status", "completed")],
    "embedded_subprocess": [("tasks", ["Task_in"]), ("complete", "Task_in", {}), ("status", "completed")],
    "transaction": [("tasks", ["Task_in"]), ("complete", "Task_in", {}), ("status", "completed")],
    "event_subprocess_interrupting": [
        ("tasks", ["Task_a"]),
        ("later", timedelta(days=2, minutes=1)),
        ("tasks", []),
        ("status", "completed"),
        ("events", {"timer_fired": 1}),
    ],
    "event_subprocess_non_interrupting": [
        ("tasks", ["Task_a"]),
        ("later", timedelta(days=2, minutes=1)),
        ("tasks", ["Task_a", "Task_late"]),
        ("complete", "Task_late", {}),
        ("complete", "Task_a", {}),
        ("status", "completed"),
    ],
    "boundary_timer": [
        ("tasks", ["Task_a"]),
        ("later", timedelta(days=3)),
        ("tasks", ["Task_a"]),
        ("later", timedelta(seconds=1)),
        ("tasks", []),
        ("status", "completed"),
        ("events", {"timer_fired": 1, "task_cancelled": 1}),
    ],
    "boundary_timer_non_interrupting": [
        ("later", timedelta(days=3, seconds=1)),
        ("tasks", ["Task_a", "Task_remind"]),
        ("complete", "Task_remind", {}),
        ("complete", "Task_a", {}),
        ("status", "completed"),
    ],
    "intermediate_timer": [
        ("tasks", []),
        ("later", timedelta(hours=23)),
        ("tasks", []),
        ("later", timedelta(hours=1, seconds=1)),
        ("tasks", ["Task_a"]),
        ("complete", "Task_a", {}),
        ("status", "completed"),
    ],
    "timer_date": [
        ("tasks", []),
        ("later", timedelta(days=3, hours=1, minutes=1)),
        ("tasks", ["Task_a"]),
        ("complete", "Task_a", {}),
        ("status", "completed"),
    ],
    "timer_cycle": [
        ("later", timedelta(days=1, minutes=1)),
        ("later", timedelta(days=1)),
        ("later", timedelta(days=1)),
        ("later", timedelta(days=1)),
        ("tasks", ["Task_a"]),
        ("complete", "Task_a", {}),
        ("status", "completed"),
        ("events", {"timer_fired": 3, "script_ran": 3}),
    ],
    "event_based_gateway_timer": [
        ("tasks", []),
        ("later", timedelta(days=5, seconds=1)),
        ("tasks", ["Task_late"]),
        ("complete", "Task_late", {}),
        ("status", "completed"),
        ("events", {"timer_fired": 1}),
    ],
    "receive_task": [("message", "dokument"), ("status", "completed")],
    "message_catch": [("message", "dokument"), ("status", "completed")],
    "multi_instance_parallel": [
        ("tasks", ["Task_mi"] * 3),
        ("complete", "Task_mi", {}),
        ("complete", "Task_mi", {}),
        ("complete", "Task_mi", {}),
        ("status", "completed"),
    ],
    "multi_instance_sequential": [
        ("tasks", ["Task_mi"]),
        ("complete", "Task_mi", {}),
        ("tasks", ["Task_mi"]),
        ("complete", "Task_mi", {}),
        ("status", "completed"),
    ],
    "standard_loop": [("tasks", ["Task_a"]), ("complete", "Task_a", {}), ("status", "completed")],
    "boundary_error": [("tasks", ["Task_fix"]), ("complete", "Task_fix", {}), ("status", "completed")],
    "boundary_escalation": [
        ("tasks", ["Task_in", "Task_rektor"]),
        ("complete", "Task_rektor", {}),
        ("complete", "Task_in", {}),
        ("status", "completed"),
    ],
    "terminate_end": [
        ("tasks", ["Task_a", "Task_b"]),
        ("complete", "Task_a", {}),
        ("tasks", []),
        ("status", "completed"),
    ],
    "uncaught_error_end": [("complete", "Task_a", {}), ("status", "failed"), ("events", {"case_failed": 1})],
    "send_task": [("complete", "Task_a", {}), ("status", "completed"), ("events", {"message_sent": 1})],
    # the sending and receiving halves: delivery between cases is test_crosscase.py's
    "message_throw_to_case": [("status", "completed"), ("events", {"message_thrown": 1})],
    "send_task_message": [("status", "completed"), ("events", {"message_thrown": 1}),
                          ("no_events", "message_sent")],
    "signal_throw": [("status", "completed"), ("events", {"signal_thrown": 1})],
    "signal_catch": [("tasks", []), ("status", "running")],
    "message_start": [("tasks", []), ("status", "running")],  # started by hand: it waits for its message
    "message_throw_start": [("status", "completed"), ("events", {"message_thrown": 1})],
    "none_task": [("tasks", ["Plain"]), ("complete", "Plain", {}), ("complete", "Task_a", {}),
                  ("status", "completed")],
    "boundary_message": [("tasks", ["Task_a"]), ("message", "avbryt"), ("tasks", []),
                         ("status", "completed")],
    "event_based_gateway_message": [("message", "svar"), ("tasks", ["Task_answer"]), ("timers", 0),
                                    ("complete", "Task_answer", {}), ("status", "completed")],
    "call_activity": [("tasks", ["Task_called"]), ("complete", "Task_called", {}), ("status", "completed")],
}


def _ready(engine, case_id):
    return sorted(t.bpmn_id for t in list_tasks(engine, case_id=case_id, state="ready"))


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_each_model_runs_as_drawn(engine, people, key):
    files = {f"{key}.bpmn": MODELS[key]}
    if key == "call_activity":
        files["called.bpmn"] = CALLED
    deploy(engine, files, {})
    with time_machine.travel(T0, tick=False) as clock:
        now = T0
        case = start_case(engine, key, pupil_id=people.pupil, by=people.teacher)
        for action, *args in SCENARIOS[key]:
            engine.live.clear()  # every step starts from what was saved
            if action == "tasks":
                assert _ready(engine, case.id) == sorted(args[0]), action
            elif action == "complete":
                task = next(
                    t for t in list_tasks(engine, case_id=case.id, state="ready") if t.bpmn_id == args[0]
                )
                complete_task(engine, task.id, args[1], by=people.teacher)
            elif action == "later":
                now += args[0]
                clock.move_to(now)
                timers.fire_due(engine, now)
            elif action == "timers":
                with engine.db.read() as session:
                    rows = session.scalars(select(Timer).where(Timer.case_id == case.id)).all()
                assert len(rows) == args[0]
            elif action == "message":
                messages.deliver(engine, case.id, args[0], by=people.teacher)
            elif action == "status":
                assert get_case(engine, case.id).status == args[0]
            elif action == "no_events":
                assert args[0] not in [e.kind for e in audit.events(engine, case_id=case.id)]
            elif action == "events":
                kinds = [e.kind for e in audit.events(engine, case_id=case.id)]
                for kind, least in args[0].items():
                    assert kinds.count(kind) >= least, (kind, kinds)
