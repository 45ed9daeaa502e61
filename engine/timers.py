"""Firing the timers that are due, one claimed row at a time.

`fire_one` is the unit of work a scheduler calls in a loop; it never loads a case whose timer is not due.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from . import cases, runner
from .models import Case, Timer
from .store import Database

RETRY_AFTER = timedelta(minutes=5)
log = logging.getLogger(__name__)


_TIMERS, _CASES = Timer.__table__, Case.__table__
NEXT_DUE = (select(_TIMERS.c.id, _TIMERS.c.case_id).join(_CASES, _CASES.c.id == _TIMERS.c.case_id)
            .where(_TIMERS.c.due_at <= bindparam("b_now")).order_by(_TIMERS.c.due_at).limit(1))
POSTPONE = (update(_TIMERS).where(_TIMERS.c.id == bindparam("b_id"), _TIMERS.c.due_at <= bindparam("b_now"))
            .values(due_at=bindparam("b_later")))


def fire_one(db: Database, now: datetime | None = None) -> bool:
    """Fire the earliest due timer's case; return whether there was one.

    1. Claim the earliest due timer by locking its CASE row (PostgreSQL: FOR UPDATE OF cases SKIP
       LOCKED, so several schedulers each take a different case and skip one a user is stepping;
       SQLite: the write lock taken at BEGIN). Timer rows change only under their case's lock, so
       claiming through the case cannot deadlock with a step.
    2. Load its case, let SpiffWorkflow fire every timer that is due, run on, save the step (the step
       rewrites the case's timer rows, removing the fired ones).
    3. If the step fired nothing (the clock said not yet) or failed (rolled back to a savepoint), push
       the row's due_at forward so the loop cannot spin on it.
    """
    now = now or datetime.now(timezone.utc)
    query = NEXT_DUE.with_for_update(of=_CASES, skip_locked=True) if db.dialect == "postgresql" else NEXT_DUE
    run = None
    with db.transaction() as conn:
        claimed = conn.execute(query, {"b_now": now}).first()
        if claimed is None:
            return False
        timer_id, case_id = claimed
        try:
            with conn.begin_nested():
                run = _fire(db, conn, case_id, now)
        except Exception:  # a broken case must not stop every other case's timers
            log.exception("timer %s of case %s failed; trying again after %s", timer_id, case_id, RETRY_AFTER)
            run = None
        conn.execute(POSTPONE, {"b_id": timer_id, "b_now": now, "b_later": now + RETRY_AFTER})
    if run is not None:
        runner.keep_live(db, run)
    return True


def _fire(db: Database, conn: Connection, case_id: int, now: datetime) -> runner.Run | None:
    case = runner.lock_case(conn, case_id)
    if case is None or case.status != "running":
        conn.execute(runner.DELETE_TIMERS, {"b_case": case_id})
        return None
    run = runner.load(conn, db, case, None, now)
    run.begin()
    run.workflow.refresh_timers()
    run.advance()
    run.finish()
    cases.start_linked(db, run)
    return run


def fire_due(db: Database, now: datetime | None = None, limit: int | None = None) -> int:
    """Fire due timers until none is left (or `limit`); return how many cases were stepped."""
    fired = 0
    while (limit is None or fired < limit) and fire_one(db, now):
        fired += 1
    return fired
