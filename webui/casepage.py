"""What the case page shows besides the engine's CaseView: the routine's diagram and where the case is in it.

The page itself goes through `engine.visibility.open_case` (which logs the look); these helpers are called
only after it, or after `can_view_case`, and read nothing about the pupil.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from engine import audit
from engine.models import Case, DecisionRecord, ProcessVersion
from engine.notify import STOCKHOLM
from engine.store import Database
from engine.visibility import CaseView

#: Audit events whose `bpmn_id` marks an element the case has passed.
PASSED = ("task_completed", "gateway_taken", "timer_fired")


def diagram_xml(db: Database, case_id: int) -> str | None:
    """The BPMN XML of the case's own process version (the file that holds its executable process)."""
    with db.read() as session:
        row = session.execute(select(ProcessVersion.key, ProcessVersion.files)
                              .join(Case, Case.process_version_id == ProcessVersion.id)
                              .where(Case.id == case_id)).first()
    if row is None or not row.files:
        return None
    key, files = row
    own = re.compile(r'<(?:\w+:)?process\b[^>]*\bid="' + re.escape(key) + '"')
    for name in sorted(files):
        if own.search(files[name]):
            return str(files[name])
    return str(files[sorted(files)[0]])


def completed_ids(db: Database, case_id: int) -> list[str]:
    """The elements the case has passed, from its audit trail: completed tasks, taken gateways, fired
    timers (in order, each once)."""
    seen: dict[str, None] = {}
    for event in audit.events(db, case_id=case_id, limit=100_000):
        bpmn_id = event.data.get("bpmn_id") if event.kind in PASSED else None
        if bpmn_id:
            seen[str(bpmn_id)] = None
    return list(seen)


def current_ids(view: CaseView) -> list[str]:
    """The elements the case waits on now: its open tasks."""
    return list(dict.fromkeys(t.bpmn_id for t in view.tasks if t.state == "ready"))


def decision_case(db: Database, decision_id: int) -> int | None:
    """Which case a signed decision belongs to (its address names the case; the two must agree)."""
    with db.read() as session:
        return session.scalar(select(DecisionRecord.case_id).where(DecisionRecord.id == decision_id))


def local_time(moment: datetime) -> str:
    """A moment as Swedish local date and time, e.g. 2026-11-23 14:05."""
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
