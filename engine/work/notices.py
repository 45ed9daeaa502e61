"""Reminders before a task is due, escalation after: the deadline policy made real.

Each open task row carries `notice_at` (when its next notice falls due) and `notice_level` (0 nothing
sent, 1 reminded, 2 escalated to the rektor, 3 escalated to the huvudman). `fire_one` is the
scheduler's unit of work, like timers.fire_one: it never reads a task whose notice is not due.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..expressions import deadlines
from ..org import access
from ..storage import audit
from ..storage.dbapi import Sql
from .notify import notify, notify_role

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

_NEXT = """SELECT id, case_id, process_key, bpmn_id, role, unit_id, pupil_id, assignee_id, due_at,
    notice_level, created_at FROM tasks WHERE state = 'ready' AND notice_at <= :now
    ORDER BY notice_at LIMIT 1"""
NEXT = {"sqlite": Sql(_NEXT), "postgresql": Sql(_NEXT + " FOR NO KEY UPDATE SKIP LOCKED")}
ADVANCE = Sql("""UPDATE tasks SET notice_level = :level, notice_at = :next WHERE id = :id
    AND notice_level = :was""")


def fire_one(engine: Engine, now: datetime | None = None) -> bool:
    """Send the earliest due notice; return whether there was one.

    1. Claim the open task whose notice_at is earliest and past (PostgreSQL: FOR UPDATE SKIP LOCKED, so
       several schedulers take different tasks; SQLite: the write lock taken at BEGIN).
    2. By its level: remind its holder (or, if nobody holds it, everyone its lane serves at the unit) —
       unless the task opened with its deadline already near: its people were just told of it then;
       then escalate to the unit's rektor; then to the huvudman. Notify in-app (and by e-mail, without
       pupil data) and audit, in the same transaction.
    3. Move the task to the next level with the next notice time, guarded by the level read in 1, so a
       notice is sent once even if two schedulers raced past step 1 on SQLite's deferred reads.
    """
    now = now or datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        row = tx.first(NEXT[tx.dialect], {"now": tx.time(now)})
        if row is None:
            return False
        task_id, case_id, routine, bpmn_id, role, unit_id, pupil_id, assignee_id, due_at, level, created = row
        due = tx.read_time(due_at)
        assert due is not None  # NEXT selects tasks with a due time
        policy = engine.deadlines.policy(routine, bpmn_id)
        off = engine.breaks.is_off(unit_id)
        if level == 0 and tx.required_time(created) > deadlines.offset(due, policy.remind_before, -1, off):
            # It opened with its deadline already near, and its people were told then, with the date:
            # no reminder on top of that. Only escalation remains, if it is not done in time.
            escalation = deadlines.offset(due, policy.escalate_after, 1, off)
            tx.rowcount(ADVANCE, {"id": task_id, "level": 1, "next": tx.time(escalation), "was": 0})
            return True
        following: datetime | None
        if level == 0:
            kind, event, to = "reminder", "deadline_reminder", "holder"
            roles = access.roles_serving(role or "")  # used while nobody holds the task
            following = deadlines.offset(due, policy.escalate_after, 1, off)
        elif level == 1:
            kind, event, to, roles = "escalation", "deadline_escalated", "rektor", frozenset({"rektor"})
            following = deadlines.offset(due, policy.escalate_to_huvudman_after, 1, off)
        else:
            kind, event, to, roles = "escalation", "deadline_escalated", "huvudman", frozenset({"huvudman"})
            following = None
        if tx.rowcount(ADVANCE, {"id": task_id, "level": level + 1, "next": tx.time(following),
                                 "was": level}) != 1:
            return True  # another scheduler sent it
        task_uuid = tx.read_uuid(task_id)
        if level == 0 and assignee_id:
            recipients = [assignee_id]
            notify(tx, assignee_id, kind, case_id=case_id, task_id=task_uuid, now=now, config=engine.config)
        else:
            recipients = notify_role(tx, unit_id, roles, kind, case_id=case_id, task_id=task_uuid, now=now,
                                     config=engine.config)
        audit.append(tx, [audit.Event(event, None, case_id, pupil_id, unit_id, {
            "task_id": str(task_uuid), "bpmn_id": bpmn_id, "to": to, "recipients": recipients,
            "due_at": due.isoformat() if due else None})], now)
    return True


def fire_due(engine: Engine, now: datetime | None = None, limit: int | None = None) -> int:
    """Send every notice that is due (or `limit`); return how many."""
    sent = 0
    while (limit is None or sent < limit) and fire_one(engine, now):
        sent += 1
    return sent
