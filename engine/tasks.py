"""Human tasks: complete one, and query the task rows (inboxes never load a case)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import select, tuple_, union_all, update

from . import access, cases, runner, sandbox
from .errors import ConflictError, FormValidationError, NotFoundError, PermissionDeniedError
from .jsondata import ensure_json
from .models import Case, RoleAssignment, TaskRow
from .store import Database


def _uuid(task_id: UUID | str) -> UUID:
    try:
        return task_id if isinstance(task_id, UUID) else UUID(str(task_id))
    except ValueError:
        raise NotFoundError(f"task {task_id} does not exist") from None


def form_errors(schema_validator: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """Per-field messages for data that does not match its form, keyed by dotted field path."""
    errors: dict[str, list[str]] = {}
    for error in schema_validator.iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required" and not path:
            missing = error.message.split("'")[1] if "'" in error.message else ""
            errors.setdefault(missing, []).append("required")
            continue
        errors.setdefault(path, []).append(error.message)
    return errors


def complete_task(db: Database, task_id: UUID | str, data: dict[str, Any], *, by: int,
                  expected_row_version: int | None = None) -> TaskRow:
    """Complete a ready task with the submitted form data, and run the case on to its next wait.

    Algorithm (one transaction; any failure leaves everything as it was):
    1. Refuse data that is not plain JSON.
    2. Lock the task's case row (PostgreSQL: FOR UPDATE; SQLite: the write lock taken at BEGIN), so two
       completions of one case queue instead of interleaving.
    3. Refuse a task that is no longer ready (ConflictError names who completed it and when), a user who
       is neither its assignee nor a holder of its lane's role at the unit, and — if the caller says which
       case version it saw — a case that has moved on since.
    4. Validate the data against the task's JSON Schema (FormValidationError maps field to messages).
    5. Run the step, then write case state (guarded by row_version), task rows, timers and audit events.
    """
    task_id = _uuid(task_id)
    ensure_json(data, "submitted data")
    now = datetime.now(timezone.utc)
    with db.write() as session:
        row = session.get(TaskRow, task_id)
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        case = runner.lock_case(session, row.case_id)
        session.refresh(row)
        if row.state != "ready":
            raise ConflictError(f"task {row.name!r} is already {row.state}"
                                + (f" (by user {row.completed_by} at {row.completed_at:%Y-%m-%d %H:%M})"
                                   if row.completed_by else ""))
        _require_may_complete(session, row, by)
        if expected_row_version is not None and case.row_version != expected_row_version:
            raise ConflictError(f"case {case.id} was changed by someone else since you opened it; "
                                "reload it and try again")
        run = runner.load(session, db.specs, case, by, now, sandbox.script_engine())
        if row.form:
            errors = form_errors(run.parsed.validator(row.form), data)
            if errors:
                raise FormValidationError(errors)
        task = run.workflow.get_task_from_id(task_id)
        meta = run.parsed.meta(task.task_spec)
        if meta.non_delegable:
            access.require_role_at_unit(session, by, row.unit_id, f"sign {meta.name!r} (not delegable)",
                                        roles={"rektor"})
        run.begin()
        task.data.update(data)
        try:
            task.run()
        except Exception as exc:  # SpiffWorkflow wraps script and expression errors
            raise runner.translate(exc) from exc
        run.advance()
        changed = sorted(data)
        run.event("task_completed", task_id=str(task_id), bpmn_id=row.bpmn_id, name=row.name,
                  fields=changed, data_sha256=runner.data_digest(data))
        if meta.decision:
            run.event("decision_signed", task_id=str(task_id), decision=meta.decision,
                      non_delegable=meta.non_delegable, signer_id=by, data_sha256=runner.data_digest(data))
        result = session.execute(update(TaskRow).where(TaskRow.id == task_id, TaskRow.state == "ready").values(
            state="completed", completed_at=now, completed_by=by, data=data))
        if result.rowcount != 1:
            raise ConflictError(f"task {row.name!r} was completed by someone else meanwhile")
        run.finish(completed={task_id})
        session.expunge(case)
        session.expunge(row)
        row.state, row.completed_at, row.completed_by, row.data = "completed", now, by, data
        cases.start_linked(db, session, run, now)
    return row


def _require_may_complete(session: Any, row: TaskRow, user_id: int) -> None:
    if row.assignee_id is not None:
        if row.assignee_id != user_id:
            raise PermissionDeniedError(f"task {row.name!r} is assigned to someone else")
        return
    if row.role is None:
        access.require_role_at_unit(session, user_id, row.unit_id, f"complete {row.name!r}")
        return
    access.require_role_at_unit(session, user_id, row.unit_id, f"complete {row.name!r}",
                                roles=access.roles_serving(row.role))


def get_task(db: Database, task_id: UUID | str) -> TaskRow:
    with db.read() as session:
        row = session.get(TaskRow, _uuid(task_id))
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        return row


def inbox(db: Database, user_id: int, *, limit: int = 200) -> list[TaskRow]:
    """A user's open tasks: those assigned to them, and unclaimed ones their roles serve at their units.

    The user's (unit, lane) pairs are worked out first, so the task query is two index-backed parts
    joined with UNION ALL (an OR across them would defeat both partial indexes).
    """
    with db.read() as session:
        held = session.execute(select(RoleAssignment.unit_id, RoleAssignment.role)
                               .where(RoleAssignment.user_id == user_id)).all()
        pairs = sorted({(unit, lane) for unit, role in held for lane in access.lanes_served_by(role)})
        parts = [select(TaskRow.id).where(TaskRow.state == "ready", TaskRow.assignee_id == user_id)]
        if pairs:
            parts.append(select(TaskRow.id).where(
                TaskRow.state == "ready", TaskRow.assignee_id.is_(None),
                tuple_(TaskRow.unit_id, TaskRow.role).in_(pairs)))
        ids = union_all(*parts).subquery()
        query = (select(TaskRow).join(ids, ids.c.id == TaskRow.id)
                 .order_by(TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at).limit(limit))
        return list(session.scalars(query))


def list_tasks(db: Database, *, case_id: int | None = None, state: str | None = None,
               limit: int = 500) -> list[TaskRow]:
    query = select(TaskRow).order_by(TaskRow.created_at, TaskRow.id).limit(limit)
    if case_id is not None:
        query = query.where(TaskRow.case_id == case_id)
    if state:
        query = query.where(TaskRow.state == state)
    with db.read() as session:
        return list(session.scalars(query))


def case_of(db: Database, task_id: UUID | str) -> Case:
    with db.read() as session:
        row = session.get(TaskRow, _uuid(task_id))
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        return session.get(Case, row.case_id)


def task_info(db: Database, row: TaskRow) -> dict[str, Any]:
    """A task's instructions and form schema, from its (cached) process version."""
    with db.read() as session:
        case = session.get(Case, row.case_id)
        parsed = db.specs.get(session, case.process_version_id)
    meta = next((parsed.meta(s) for p in [parsed.spec, *parsed.subprocess_specs.values()]
                 for s in p.task_specs.values() if getattr(s, "bpmn_id", None) == row.bpmn_id), None)
    return {"instructions": meta.instructions if meta else "",
            "form": parsed.forms.get(row.form) if row.form else None,
            "due_rule": meta.due_rule if meta else None}
