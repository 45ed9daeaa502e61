"""A step the routine itself cannot run: what the case records, so that it never stops silently.

When a step fails because of the routine (a script or condition refused or failing in the sandbox, an
evaluation worker stopped at a limit, a bound of engine.expressions.bounds met, a task the routine cannot
give to
anyone), the step's transaction is rolled back first — nothing it did remains — and then, in a
transaction of its own, the case records why: `cases.error` (shown on the case page until a later step
succeeds) and a `step_failed` audit event (on the timeline, and in the tamper-evident chain).
Errors of the user's own input (a form that does not validate, a conflict) are not recorded here.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from .. import codes
from ..errors import (
    DataNotJSONError,
    PermissionDeniedError,
    RemoteError,
    RoutineRefusal,
    SandboxError,
    WorkflowError,
)
from ..routines import editing
from ..storage import audit
from ..storage.dbapi import Sql, Tx
from ..storage.models import Case, CaseEvent, ProcessVersion

#: What a routine's own failure looks like (runner.translate turns SpiffWorkflow's errors into these).
ROUTINE_ERRORS = (WorkflowError, SandboxError, DataNotJSONError, RemoteError)
MAX_MESSAGE = 2000
log = logging.getLogger(__name__)

CASE = Sql("SELECT pupil_id, unit_id FROM cases WHERE id = :id")
SET_ERROR = Sql("UPDATE cases SET error = :error, error_at = :now, error_code = :code WHERE id = :id")


@contextmanager
def routine_step(case_id: int) -> Iterator[None]:
    """Mark a routine failure raised inside as belonging to `case_id` (see `failed_case`)."""
    try:
        yield
    except RoutineRefusal:  # the routine refused the user's step on purpose: it did not fail
        raise
    except ROUTINE_ERRORS as exc:
        exc.elevflow_failed_case = case_id  # type: ignore[union-attr]
        raise


def failed_case(exc: BaseException) -> int | None:
    """The case whose routine raised `exc` inside `routine_step`, or None."""
    return getattr(exc, "elevflow_failed_case", None)


def record(tx: Tx, case_id: int, exc: BaseException, actor_id: int | None,
           now: datetime | None = None) -> None:
    """Record on the case (in the caller's transaction, after the failed step's rollback) why it stopped."""
    now = now or datetime.now(timezone.utc)
    row = tx.first(CASE, {"id": case_id})
    if row is None:
        return
    message = str(exc)[:MAX_MESSAGE]
    log.warning("case %s stopped on an error in its routine: %s", case_id, message)
    coded = getattr(exc, "code", None) and codes.to_json(exc.coded)  # type: ignore[attr-defined]
    tx.execute(SET_ERROR, {"id": case_id, "error": message, "now": tx.time(now), "code": tx.json(coded)})
    data: dict[str, Any] = {"message": message}
    element = getattr(exc, "element_id", None)
    if element:
        data["bpmn_id"] = str(element)
    audit.append(tx, [audit.Event("step_failed", actor_id, case_id, row[0], row[1], data)], now)


def record_failure(engine: Any, exc: BaseException, actor_id: int | None) -> None:
    """After a step's transaction was rolled back: record its routine failure, if it was one."""
    case_id = failed_case(exc)
    if case_id is None:
        return
    with engine.db.transaction() as tx:
        record(tx, case_id, exc, actor_id)


@dataclass(frozen=True)
class Stopped:
    """A running case of a routine whose last step failed, as its process owner sees it: no pupil data,
    only what the owner needs to find and fix the routine (the case is then moved to the fixed version)."""

    case_id: int
    version: int
    error: str
    at: datetime
    error_code: codes.Coded | None = None  # the error as a code of elevflow.engine.codes, when it has one


def stopped_cases(engine: Any, key: str, *, by: int) -> list[Stopped]:
    """The running cases of routine `key` that stopped on an error, newest first (process owners only)."""
    if not editing.is_process_owner(engine, by):
        raise PermissionDeniedError(f"user {by} may not list stopped cases: that takes the process-owner "
                                    "role")
    with engine.db.read() as session:
        rows = session.execute(select(Case.id, ProcessVersion.version, Case.error, Case.error_at,
                                      Case.error_code)
                               .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
                               .where(Case.process_key == key, Case.status == "running",
                                      Case.error.is_not(None)).order_by(Case.error_at.desc())).all()
    return [Stopped(row[0], row[1], row[2], row[3], codes.from_json(row[4])) for row in rows]


@dataclass(frozen=True)
class Unmatched:
    """A message a case threw that no case has received (runtime/crosscase.py), as its process owner sees
    it: the message, the routine and case that threw it, when, and until when it is kept — no pupil data."""

    id: int
    name: str
    routine: str
    case_id: int
    thrown_at: datetime
    keep_until: datetime
    expired: bool


def unmatched_messages(engine: Any, *, by: int) -> list[Unmatched]:
    """The messages no case has received, kept (tried again each scheduler round) or expired, oldest first
    (process owners only): a routine whose message goes nowhere shows here."""
    if not editing.is_process_owner(engine, by):
        raise PermissionDeniedError(f"user {by} may not list unmatched messages: that takes the "
                                    "process-owner role")
    with engine.db.read() as session:
        rows = session.execute(
            select(CaseEvent.id, CaseEvent.name, Case.process_key, CaseEvent.sender_case_id,
                   CaseEvent.created_at, CaseEvent.keep_until, CaseEvent.outcome)
            .join(Case, Case.id == CaseEvent.sender_case_id)
            .where(CaseEvent.kind == "message",
                   CaseEvent.delivered_at.is_(None) | (CaseEvent.outcome == "expired"))
            .order_by(CaseEvent.id)).all()
    return [Unmatched(row[0], row[1], row[2], row[3], row[4], row[5], row[6] == "expired") for row in rows]
