"""Human tasks: complete one, and query the task rows (inboxes never load a case)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from sqlalchemy import select

from .. import codes
from ..errors import (
    ConflictError,
    FormValidationError,
    NotFoundError,
    PermissionDeniedError,
    SigningRequiredError,
)
from ..expressions import deadlines
from ..org import access
from ..org.roles import MEDICAL_ROLES
from ..routines import formcheck
from ..storage.dbapi import Sql, Tx
from ..storage.jsondata import ensure_json
from ..storage.models import Case, TaskRow
from ..work import assignment, worklist
from . import runner

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine


def _uuid(task_id: UUID | str) -> UUID:
    try:
        return task_id if isinstance(task_id, UUID) else UUID(str(task_id))
    except ValueError:
        raise NotFoundError(f"task {task_id} does not exist") from None


def form_errors(schema_validator: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """Per-field messages for data that does not match its form, keyed by dotted field path."""
    return formcheck.schema_errors(schema_validator, data)


# The task, its case and the user's roles at the task's unit (a row per role; one with NULL if none);
# on SQLite the transaction holds the write lock. On PostgreSQL the case row is locked FIRST (the CTE,
# which the join makes run before the outer rows are locked), then the task row — the lock order of
# every step (see runner.py) — and the outer lock re-reads both rows as the last committed step left them.
_TASK_FOR_STEP = """SELECT t.id, t.case_id, t.process_key, t.bpmn_id, t.name, t.role, t.unit_id, t.pupil_id,
    t.assignee_id, t.state, t.form, t.completed_at, t.completed_by, c.process_version_id, c.status,
    c.row_version, EXISTS (SELECT 1 FROM task_drafts d WHERE d.task_id = t.id)
        OR EXISTS (SELECT 1 FROM follow_ups f WHERE f.task_id = t.id), r.role
    FROM tasks t JOIN cases c ON c.id = t.case_id{locked}
    LEFT JOIN role_assignments r ON r.unit_id = t.unit_id AND r.user_id = :user_id WHERE t.id = :id"""
_CASE_FIRST = """WITH locked AS (SELECT id FROM cases WHERE id = (SELECT case_id FROM tasks WHERE id = :id)
    FOR NO KEY UPDATE) """
TASK_FOR_STEP = {"sqlite": Sql(_TASK_FOR_STEP.format(locked="")),
                 "postgresql": Sql(_CASE_FIRST + _TASK_FOR_STEP.format(
                     locked=" JOIN locked ON locked.id = c.id") + " FOR NO KEY UPDATE OF t, c")}
MARK_COMPLETED = Sql("""UPDATE tasks SET state = 'completed', completed_at = :now, completed_by = :by,
    data = :data, due_at = COALESCE(:due_at, due_at), medical_author = :medical
    WHERE id = :id AND state = 'ready'""")


@dataclass(frozen=True)
class StepTask:
    """The columns of a task row a completion needs, with its case's."""

    id: UUID
    case_id: int
    process_key: str
    bpmn_id: str
    name: str
    role: str | None
    unit_id: int
    pupil_id: int | None
    assignee_id: int | None
    state: str
    form: str | None
    completed_at: Any
    completed_by: int | None
    process_version_id: int
    case_status: str
    row_version: int
    has_aids: bool  # the task has drafts or follow-up dates, which go when it closes


@dataclass(frozen=True)
class Completed:
    """What completing a task did: the task, and where its case stands now."""

    task_id: UUID
    name: str
    case_id: int
    case_status: str
    case_row_version: int


@dataclass(frozen=True)
class StepContext:
    """What a `within` hook of complete_task is told about the step it runs inside.

    `task_data` is the task's data after it ran: the case's data merged with the submitted data.
    `decision`, `non_delegable` and `delegation_id` come from the task's BPMN properties and the signing
    check (`delegation_id` is None when the rektor signs, or when the task is no decision). A hook may
    put keys in `audit_data`; they are added to the step's `decision_signed` audit event.
    """

    task_id: UUID
    case_id: int
    pupil_id: int | None
    unit_id: int
    process_key: str
    bpmn_id: str
    name: str
    by: int
    now: datetime
    data: dict[str, Any]
    task_data: dict[str, Any]
    decision: str | None
    non_delegable: bool
    delegation_id: int | None
    audit_data: dict[str, Any] = field(default_factory=dict)
    version_id: int | None = None  # the case's process version


def complete_task(engine: Engine, task_id: UUID | str, data: dict[str, Any], *, by: int,
                  expected_row_version: int | None = None,
                  within: Callable[[Tx, StepContext], None] | None = None) -> Completed:
    """Complete a ready task with the submitted form data, and run the case on to its next wait.

    A decision task is refused (SigningRequiredError, nothing changed): a decision is completed only by
    signing it — engine.documents.signing.sign_decision, `elevflow sign`, or Signera in the web app — so that
    it
    always gets its decision document.
    """
    return run_step(engine, task_id, data, by=by, expected_row_version=expected_row_version, within=within,
                    signing=False)


def run_step(engine: Engine, task_id: UUID | str, data: dict[str, Any], *, by: int,
             expected_row_version: int | None, within: Callable[[Tx, StepContext], None] | None,
             signing: bool) -> Completed:
    """complete_task's work; `signing` is True only when engine.documents.signing records the decision
    document.

    Algorithm (one step of the step protocol, runner.step; any failure leaves everything as it was):
    1. Refuse data that is not plain JSON.
    2. Read the task with its case, locking both rows, the case's first (PostgreSQL: FOR NO KEY UPDATE,
       so two completions of one case queue instead of interleaving, and the second sees what the first
       wrote; and a timer step, which locks the case and then cancels the task, queues too instead of
       deadlocking; SQLite: the write lock taken at BEGIN).
    3. Refuse a task that is no longer ready (ConflictError names who completed it and when), a user who
       is neither its assignee nor a holder of its lane's role at the unit, and — if the caller says which
       case version it saw — a case that has moved on since.
    4. Validate the data against the task's JSON Schema (FormValidationError maps field to messages).
       For a decision: check the signer's right, and refuse it unless it is being signed.
       NotStaffError, one of them, when the form names someone a later task cannot go to).
    5. Run the step. If `within` is given, call it now with the transaction and a StepContext: what it
       writes commits or rolls back with the step (an exception from it undoes the whole step).
    6. Mark the task completed. A task whose `dueFrom` key its own form fills (the day staff learned of
       a kränkning, for the report that is due 24 hours after it) is due again from that date, so a late
       report is on record as late. The protocol then writes case state (guarded by row_version), task
       rows, timers and audit events, commits, and keeps the workflow in memory for the case's next step.
    If the routine fails in step 5 or in saving (engine.runtime.failures), everything is rolled back and then
    the
    case records the error (shown on its page, audited); the error is raised to the caller as before.
    """
    task_id = _uuid(task_id)
    ensure_json(data, "submitted data")
    with runner.step(engine, "sign" if signing else "complete", by) as step:
        row = _complete(engine, step, task_id, data, by, expected_row_version, within, signing)
    run = step.run
    assert run is not None
    return Completed(task_id, row.name, row.case_id, run.case.status, run.case.row_version)


def _complete(engine: Engine, step: runner.Step, task_id: UUID, data: dict[str, Any], by: int,
              expected_row_version: int | None, within: Callable[[Tx, StepContext], None] | None,
              signing: bool) -> StepTask:
    """Steps 2-5 of run_step inside the step protocol (which saves, commits and keeps the workflow)."""
    tx, now = step.tx, step.now
    rows = tx.all(TASK_FOR_STEP[tx.dialect], {"id": tx.uuid(task_id), "user_id": by})
    if not rows:
        raise NotFoundError(f"task {task_id} does not exist")
    row = StepTask(*rows[0][:-1])
    held = {r[-1] for r in rows if r[-1] is not None}
    if row.state != "ready":
        when = tx.read_time(row.completed_at)
        if row.completed_by:
            raise ConflictError("conflict.task_done_by", task=row.name, state=codes.state(row.state),
                                user=str(row.completed_by), at=f"{when:%Y-%m-%d %H:%M}")
        raise ConflictError("conflict.task_state", task=row.name, state=codes.state(row.state))
    _require_may_complete(row, by, held)
    if expected_row_version is not None and row.row_version != expected_row_version:
        raise ConflictError("conflict.case_changed_since_opened", case=str(row.case_id))
    case = runner.CaseRef(row.case_id, row.process_version_id, row.process_key, row.pupil_id,
                          row.unit_id, row.case_status, row.row_version)
    if row.form:
        errors = form_errors(engine.specs.get(case.process_version_id).validator(row.form), data)
        if errors:
            raise FormValidationError(errors)
    run = step.load(case)
    task = run.workflow.get_task_from_id(task_id)
    if row.form:  # date rules and case conditions, against the case's data before this step
        errors, problems = formcheck.check_with_case(run.parsed.forms[row.form], data, task.data,
                                                     formcheck.local_today(now))
        if errors:
            raise FormValidationError(errors, problems)
    meta = run.parsed.meta(task.task_spec)
    delegation = _signing_right(tx, row, meta, by, held, now) if meta.decision else None
    if meta.decision and not signing:
        raise SigningRequiredError(
            f"{row.name!r} is a decision: it is completed only by signing it, which makes its decision "
            "document (the web app's Signera, `elevflow sign`, or engine.documents.signing.sign_decision)")
    # a copy (a script may change what it reads; never the submitted record): plain JSON, so orjson's round
    # trip makes it in a fraction of deepcopy's time
    task.data.update(orjson.loads(orjson.dumps(data)))
    with step.routine():
        try:
            task.run()
        except Exception as exc:  # SpiffWorkflow wraps script and expression errors
            raise runner.translate(exc) from exc
        run.advance()
    extra: dict[str, Any] = {}
    if within is not None:
        context = StepContext(task_id, row.case_id, row.pupil_id, row.unit_id, row.process_key,
                              row.bpmn_id, row.name, by, now, data, dict(task.data), meta.decision,
                              meta.non_delegable, delegation, version_id=case.process_version_id)
        within(tx, context)
        extra = context.audit_data
    digest = runner.data_digest(data)
    due = _due_from_own_form(row, meta, data, run)
    run.event("task_completed", task_id=str(task_id), bpmn_id=row.bpmn_id, name=row.name,
              fields=sorted(data), data_sha256=digest,
              **({"due_at": due.isoformat()} if due is not None else {}))
    if meta.decision:  # the hook's keys are added; they never replace the engine's own
        run.event("decision_signed", **{**extra, "task_id": str(task_id), "decision": meta.decision,
                                        "non_delegable": meta.non_delegable, "signer_id": by,
                                        "delegation_id": delegation, "data_sha256": digest})
    tx.send_together()  # nothing reads this statement's result: it goes with the step's other writes
    tx.execute(MARK_COMPLETED, {"id": tx.uuid(task_id), "now": tx.time(now), "by": by,
                                "data": tx.json(data), "due_at": tx.time(due),
                                "medical": bool(held & MEDICAL_ROLES)})
    run.submitted = frozenset(data)
    step.completed = {task_id}
    if not row.has_aids:  # read with the task, under its lock: nothing to delete when it closes
        run.without_aids.add(task_id)
    return row


def _due_from_own_form(row: StepTask, meta: Any, data: dict[str, Any], run: runner.Run) -> datetime | None:
    """The task's due time counted from the date its own form gave for its `dueFrom` key, or None when
    the form gives none (the due time set when the task opened stands)."""
    rule = deadlines.rule_for(run.rules, row.process_key, row.bpmn_id, meta.due_rule)
    if not rule or not meta.due_from or not data.get(meta.due_from):
        return None
    return deadlines.due_from(rule, data[meta.due_from], run.now, run.days_off, run.limits.timer_years)


def _signing_right(tx: Any, row: StepTask, meta: Any, user_id: int, held: set[str],
                   now: datetime) -> int | None:
    """May this user sign this decision? The unit's rektor always; anyone else only through a written
    delegation in force for this kind of decision — and nobody else at all for the decisions the law
    keeps with the rektor. Returns the delegation relied on (None when the rektor signs)."""
    if "rektor" in held:
        return None
    if meta.non_delegable or meta.decision in assignment.NON_DELEGABLE:
        raise PermissionDeniedError(f"{meta.name!r} is a decision only the unit's rektor may sign "
                                    "(Skollagen 3:9 second paragraph); it cannot be delegated")
    found = assignment.active_delegation(tx, row.unit_id, user_id, meta.decision, now)
    if found is None:
        raise PermissionDeniedError(f"{meta.name!r} is the rektor's decision; user {user_id} has no written "
                                    f"delegation in force for {meta.decision!r} at this unit")
    return found


def _require_may_complete(row: Any, user_id: int, held: set[str]) -> None:
    """The assignee may complete an assigned task; anyone holding a role its lane serves, an open one."""
    if row.assignee_id is not None:
        if row.assignee_id != user_id:
            raise PermissionDeniedError(f"task {row.name!r} is assigned to someone else")
        return
    allowed = access.roles_serving(row.role) if row.role else None
    if not access.serves(held, row.role):
        raise PermissionDeniedError(f"user {user_id} may not complete {row.name!r} at school unit "
                                    f"{row.unit_id}" + (f" (needs {' or '.join(sorted(allowed))})"
                                                        if allowed else ""))


def get_task(engine: Engine, task_id: UUID | str) -> TaskRow:
    with engine.db.read() as session:
        row = session.get(TaskRow, _uuid(task_id))
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        return row


def inbox(engine: Engine, user_id: int, *, limit: int = 50) -> list[Any]:
    """A user's open tasks, soonest due first: assigned to them, or unclaimed in a lane their roles
    serve at their units (worklist.worklist, unfiltered; each item has the task's id, name, case, role,
    assignee and due date)."""
    return worklist.worklist(engine, user_id, limit=limit).items


def list_tasks(engine: Engine, *, case_id: int | None = None, state: str | None = None,
               limit: int = 500) -> list[TaskRow]:
    query = select(TaskRow).order_by(TaskRow.created_at, TaskRow.id).limit(limit)
    if case_id is not None:
        query = query.where(TaskRow.case_id == case_id)
    if state:
        query = query.where(TaskRow.state == state)
    with engine.db.read() as session:
        return list(session.scalars(query))


def task_info(engine: Engine, row: TaskRow) -> dict[str, Any]:
    """A task's instructions, form schema, due rule and decision kind (None for an ordinary task), from
    its (cached) process version."""
    with engine.db.read() as session:
        case = session.get(Case, row.case_id)
    assert case is not None  # a task's case is never deleted
    parsed = engine.specs.get(case.process_version_id)
    meta = next((parsed.meta(s) for p in [parsed.spec, *parsed.subprocess_specs.values()]
                 for s in p.task_specs.values() if getattr(s, "bpmn_id", None) == row.bpmn_id), None)
    return {"instructions": meta.instructions if meta else "",
            "form": parsed.forms.get(row.form) if row.form else None,
            "due_rule": meta.due_rule if meta else None,
            "decision": meta.decision if meta else None}
