"""Firing the timers that are due, one claimed row at a time.

`fire_one` is the unit of work a scheduler calls in a loop; it never loads a case whose timer is not due.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from . import cases, runner, sandbox
from .models import Case, Timer
from .store import Database

RETRY_AFTER = timedelta(minutes=5)
log = logging.getLogger(__name__)


def fire_one(db: Database, now: datetime | None = None) -> bool:
    """Fire the earliest due timer's case; return whether there was one.

    1. Claim the earliest timer row with due_at <= now (PostgreSQL: FOR UPDATE SKIP LOCKED, so several
       schedulers each take a different row; SQLite: the write lock taken at BEGIN).
    2. Load its case, let SpiffWorkflow fire every timer that is due, run on, save the step (the step
       rewrites the case's timer rows, removing the fired ones).
    3. If the step fired nothing (the clock said not yet), push the row's due_at forward so the loop
       cannot spin on it; if the step fails, roll back and push it forward in a new transaction.
    """
    now = now or datetime.now(timezone.utc)
    with db.write() as session:
        query = (select(Timer).where(Timer.due_at <= now).order_by(Timer.due_at).limit(1))
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        timer = session.scalars(query).first()
        if timer is None:
            return False
        timer_id, case_id = timer.id, timer.case_id
        try:
            with session.begin_nested():
                _fire(db, session, case_id, now)
        except Exception:  # a broken case must not stop every other case's timers
            log.exception("timer %s of case %s failed; trying again after %s", timer_id, case_id, RETRY_AFTER)
            session.execute(update(Timer).where(Timer.id == timer_id).values(due_at=now + RETRY_AFTER))
            return True
        still = session.get(Timer, timer_id)
        if still is not None and still.due_at <= now:
            still.due_at = now + RETRY_AFTER
    return True


def _fire(db: Database, session, case_id: int, now: datetime) -> None:
    case = runner.lock_case(session, case_id)
    if case is None or case.status != "running":
        session.execute(Timer.__table__.delete().where(Timer.case_id == case_id))
        return
    run = runner.load(session, db.specs, case, None, now, sandbox.script_engine())
    run.begin()
    run.workflow.refresh_timers()
    run.advance()
    run.finish()
    cases.start_linked(db, session, run, now)


def fire_due(db: Database, now: datetime | None = None, limit: int | None = None) -> int:
    """Fire due timers until none is left (or `limit`); return how many cases were stepped."""
    fired = 0
    while (limit is None or fired < limit) and fire_one(db, now):
        fired += 1
    return fired
