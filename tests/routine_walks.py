"""Driving a shipped routine to a chosen step through the engine API, for the scenario tests that then
try that step's form (tests/test_decisions.py, tests/test_form_checks.py, ...).

Each step is done by the person the scenario data names for its lane (tests/routine_scenarios.py); a
decision is signed by the rektor, re-authenticated, as the web app does; when only the appeal window is
open the clock runs past it and the scheduler's timer round closes it.
"""
from __future__ import annotations

import re
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import routine_scenarios as rs
from test_documents import pdf_text
from test_routines import answer_for, form_data, ready_tasks

from elevflow.engine import complete_task, sign_decision, start_case
from elevflow.engine.runtime import timers
from elevflow.engine.runtime.tasks import task_info

VIEW = {"elevens_asikt_hur": "samtal", "elevens_asikt": "Eleven vill helst få hjälp i den egna klassen.",
        "barnets_basta": "Stödet i liten grupp väger tyngst: eleven når målen där, och eleven har fått säga "
                         "sitt."}


def do(engine: Any, school: Any, task: Any, answer: dict[str, Any]) -> None:
    """Complete one task as the right person: a decision is signed by the rektor."""
    data = form_data(task_info(engine, task)["form"], answer, school)
    if task.bpmn_id.startswith(("Task_beslut", "Task_besluta")):
        sign_decision(engine, task.id, data, by=school.users["rektor"],
                      reauthenticated_at=datetime.now(timezone.utc))
        return
    user = rs.ASSIGNED.get(task.bpmn_id) or rs.LANE_USER[task.role]
    complete_task(engine, task.id, data, by=school.users[user])


def drive(engine: Any, school: Any, clock: Any, answers: dict[str, Any], stop_at: str,
          routine: str = "sarskilt_stod") -> Any:
    """Start a case and do its steps, a day apart, until `stop_at` is open; return that task."""
    case = start_case(engine, routine, pupil_id=school.pupil, by=school.users[rs.STARTER[routine]])
    seen: dict[str, int] = {}
    for _ in range(60):
        open_ = ready_tasks(engine, case.id)
        wanted = [t for t in open_ if t.bpmn_id == stop_at]
        if wanted:
            return wanted[0]
        doable = [t for t in open_ if t.bpmn_id != "Task_registrera_overklagande"]
        if not doable:  # only the appeal window is open: let it close
            clock.shift(timedelta(weeks=3, days=1))
            assert timers.fire_due(engine) >= 1
            continue
        task = doable[0]
        answer = answer_for(answers, task.bpmn_id, seen.get(task.bpmn_id, 0))
        seen[task.bpmn_id] = seen.get(task.bpmn_id, 0) + 1
        do(engine, school, task, answer)
        clock.shift(timedelta(days=1))
    raise AssertionError(f"{stop_at} was never reached")


def document_text(pdf: bytes) -> str:
    """The text a stored (compressed) decision PDF shows, on one line."""
    def inflate(match: re.Match[bytes]) -> bytes:
        try:
            return b"stream\n" + zlib.decompress(match.group(1)) + b"\nendstream"
        except zlib.error:
            return match.group(0)
    plain = re.sub(rb"stream\r?\n(.*?)\r?\nendstream", inflate, pdf, flags=re.S)
    return " ".join(pdf_text(plain).split())
