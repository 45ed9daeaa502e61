"""Firing the timers that are due, one claimed row at a time.

`fire_one` is the unit of work a scheduler calls in a loop; it never loads a case whose timer is not due.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..storage.dbapi import RETRYABLE, Sql
from . import runner

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

RETRY_AFTER = timedelta(minutes=5)
log = logging.getLogger(__name__)


_NEXT_DUE = """SELECT t.id, t.case_id FROM timers t JOIN cases c ON c.id = t.case_id WHERE t.due_at < :now
    ORDER BY t.due_at LIMIT 1"""
NEXT_DUE = {"sqlite": Sql(_NEXT_DUE), "postgresql": Sql(_NEXT_DUE + " FOR NO KEY UPDATE OF c SKIP LOCKED")}
POSTPONE = Sql("UPDATE timers SET due_at = :later WHERE id = :id AND due_at < :now")
STILL_DUE = Sql("SELECT 1 FROM timers WHERE id = :id AND due_at < :now")


class _NothingFired(Exception):
    """The claimed timer's case had nothing to fire (its clock says not yet): the step is undone."""


def fire_one(engine: Engine, now: datetime | None = None) -> bool:
    """Fire the earliest due timer's case; return whether there was one.

    1. Claim the earliest due timer by locking its CASE row (PostgreSQL: FOR UPDATE OF cases SKIP
       LOCKED, so several schedulers each take a different case and skip one a user is stepping;
       SQLite: the write lock taken at BEGIN). Timer rows change only under their case's lock, so
       claiming through the case cannot deadlock with a step.
    2. Under the case's lock, read the timer row again. On PostgreSQL the claim's snapshot may predate
       the commit of another scheduler that fired this very timer an instant earlier: the case row is
       re-read as that step left it, but the (unlocked) timer row is not, so the claim can name a timer
       that is gone. Then there is nothing to do — stepping the case anyway saved an empty step (state
       rewritten, version bumped, no audit event).
    3. Load its case, let SpiffWorkflow fire every timer that is due, run on, save the step (the step
       rewrites the case's timer rows, removing the fired ones): one step of the step protocol
       (runner.step) in a savepoint of the claim's transaction, its workflow kept after that commits.
    4. If the step fired nothing (the workflow's clock says not yet) it is undone — a step that changes
       nothing is never saved — and the row's due_at is pushed forward so the loop cannot spin on it;
       the same if it failed (rolled back to the savepoint; a routine's failure is then recorded on the
       case) — unless it failed only because it met a concurrent step (a deadlock), when the next call
       simply claims it again.
    Rows are locked FOR NO KEY UPDATE: it excludes other steps but not the foreign-key checks of
    rows that merely refer to the case (a notification, a log entry), so those never deadlock with it.
    """
    now = now or datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        claimed = tx.first(NEXT_DUE[tx.dialect], {"now": tx.time(now)})
        if claimed is None:
            return False
        timer_id, case_id = claimed
        try:
            with runner.step(engine, "timer", None, now, inside=tx) as step:
                _fire(step, timer_id, case_id)
        except _NothingFired:
            log.info("timer %s of case %s is not due by the case's own clock; trying again after %s",
                     timer_id, case_id, RETRY_AFTER)
        except Exception as exc:  # a broken case must not stop every other case's timers
            if _transient(exc):  # lost a race with another step: the next call claims it again
                log.info("timer %s of case %s met a concurrent step (%s); retrying", timer_id, case_id, exc)
                return True
            log.exception("timer %s of case %s failed; trying again after %s", timer_id, case_id, RETRY_AFTER)
        tx.execute(POSTPONE, {"id": timer_id, "now": tx.time(now), "later": tx.time(now + RETRY_AFTER)})
    return True


def _transient(exc: BaseException) -> bool:
    """A deadlock or serialization failure: PostgreSQL's word that trying again will work."""
    return getattr(exc, "sqlstate", None) in RETRYABLE


def _fire(step: runner.Step, timer_id: int, case_id: int) -> None:
    case = step.lock(case_id)
    if case is None or case.status != "running":
        step.tx.execute(runner.DELETE_TIMERS, {"case_id": case_id})
        return
    if step.tx.first(STILL_DUE, {"id": timer_id, "now": step.tx.time(step.now)}) is None:
        return  # another scheduler fired it after our claim's snapshot was taken
    run = step.load(case)
    with step.routine():
        run.workflow.refresh_timers()
        run.advance()
    if not run.moved():
        raise _NothingFired(timer_id)


def fire_due(engine: Engine, now: datetime | None = None, limit: int | None = None) -> int:
    """Fire due timers until none is left (or `limit`); return how many cases were stepped."""
    fired = 0
    while (limit is None or fired < limit) and fire_one(engine, now):
        fired += 1
    return fired
