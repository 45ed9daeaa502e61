"""Human tasks: complete one, and query the task rows (inboxes never load a case)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, select, tuple_, union_all

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


_TASKS, _CASES, _ROLES = TaskRow.__table__, Case.__table__, RoleAssignment.__table__
# The task, its case and the user's roles at the task's unit (a row per role; one with NULL if none),
# task and case rows locked.
TASK_FOR_STEP = (select(_TASKS, _CASES.c.process_version_id, _CASES.c.status.label("case_status"),
                        _CASES.c.row_version, _ROLES.c.role.label("held_role"))
                 .join(_CASES, _CASES.c.id == _TASKS.c.case_id)
                 .outerjoin(_ROLES, and_(_ROLES.c.unit_id == _TASKS.c.unit_id,
                                         _ROLES.c.user_id == bindparam("b_user")))
                 .where(_TASKS.c.id == bindparam("b_id"))
                 .with_for_update(of=[_TASKS, _CASES]))


@dataclass(frozen=True)
class Completed:
    """What completing a task did: the task, and where its case stands now."""

    task_id: UUID
    name: str
    case_id: int
    case_status: str
    case_row_version: int

MARK_COMPLETED = (_TASKS.update().where(_TASKS.c.id == bindparam("b_id"), _TASKS.c.state == "ready")
                  .values(state="completed", completed_at=bindparam("b_now"), completed_by=bindparam("b_by"),
                          data=bindparam("b_data")))


def complete_task(db: Database, task_id: UUID | str, data: dict[str, Any], *, by: int,
                  expected_row_version: int | None = None) -> Completed:
    """Complete a ready task with the submitted form data, and run the case on to its next wait.

    Algorithm (one transaction; any failure leaves everything as it was):
    1. Refuse data that is not plain JSON.
    2. Read the task with its case, locking both rows (PostgreSQL: FOR UPDATE, so two completions of
       one case queue instead of interleaving, and the second sees what the first wrote; SQLite: the
       write lock taken at BEGIN).
    3. Refuse a task that is no longer ready (ConflictError names who completed it and when), a user who
       is neither its assignee nor a holder of its lane's role at the unit, and — if the caller says which
       case version it saw — a case that has moved on since.
    4. Validate the data against the task's JSON Schema (FormValidationError maps field to messages).
    5. Run the step, then write case state (guarded by row_version), task rows, timers and audit events.
    6. After the commit, keep the workflow in memory for the case's next step.
    """
    task_id = _uuid(task_id)
    ensure_json(data, "submitted data")
    now = datetime.now(timezone.utc)
    with db.transaction() as conn:
        rows = conn.execute(TASK_FOR_STEP, {"b_id": task_id, "b_user": by}).all()
        if not rows:
            raise NotFoundError(f"task {task_id} does not exist")
        row = found = rows[0]
        held = {r.held_role for r in rows if r.held_role is not None}
        if row.state != "ready":
            raise ConflictError(f"task {row.name!r} is already {row.state}"
                                + (f" (by user {row.completed_by} at {row.completed_at:%Y-%m-%d %H:%M})"
                                   if row.completed_by else ""))
        _require_may_complete(row, by, held)
        if expected_row_version is not None and found.row_version != expected_row_version:
            raise ConflictError(f"case {row.case_id} was changed by someone else since you opened it; "
                                "reload it and try again")
        case = runner.CaseRef(row.case_id, found.process_version_id, row.process_key, row.pupil_id,
                              row.unit_id, found.case_status, found.row_version)
        if row.form:
            errors = form_errors(db.specs.get(conn, case.process_version_id).validator(row.form), data)
            if errors:
                raise FormValidationError(errors)
        run = runner.load(conn, db, case, by, now)
        task = run.workflow.get_task_from_id(task_id)
        meta = run.parsed.meta(task.task_spec)
        if meta.non_delegable and "rektor" not in held:
            raise PermissionDeniedError(f"{meta.name!r} is a decision only the unit's rektor may sign "
                                        "(Skollagen 3:9 second paragraph); it cannot be delegated")
        run.begin()
        task.data.update(data)
        try:
            task.run()
        except Exception as exc:  # SpiffWorkflow wraps script and expression errors
            raise runner.translate(exc) from exc
        run.advance()
        digest = runner.data_digest(data)
        run.event("task_completed", task_id=str(task_id), bpmn_id=row.bpmn_id, name=row.name,
                  fields=sorted(data), data_sha256=digest)
        if meta.decision:
            run.event("decision_signed", task_id=str(task_id), decision=meta.decision,
                      non_delegable=meta.non_delegable, signer_id=by, data_sha256=digest)
        conn.execute(MARK_COMPLETED, {"b_id": task_id, "b_now": now, "b_by": by, "b_data": data})
        run.finish(completed={task_id})
        cases.start_linked(db, run)
    runner.keep_live(db, run)
    return Completed(task_id, row.name, row.case_id, run.case.status, run.case.row_version)


def _require_may_complete(row: Any, user_id: int, held: set[str]) -> None:
    """The assignee may complete an assigned task; anyone holding a role its lane serves, an open one."""
    if row.assignee_id is not None:
        if row.assignee_id != user_id:
            raise PermissionDeniedError(f"task {row.name!r} is assigned to someone else")
        return
    allowed = access.roles_serving(row.role) if row.role else None
    if not held or (allowed is not None and not held & allowed):
        raise PermissionDeniedError(f"user {user_id} may not complete {row.name!r} at school unit "
                                    f"{row.unit_id}" + (f" (needs {' or '.join(sorted(allowed))})"
                                                        if allowed else ""))


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
