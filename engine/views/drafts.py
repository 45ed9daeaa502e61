"""A user's own working aids: form drafts, personal follow-up dates, saved inbox filters.

A draft is the form data a user saved without completing the task: theirs alone, plain JSON, never
validated against the form (a half-filled form is the point). Only a ready task has drafts: the step that
completes or cancels a task deletes its drafts and follow-up dates (runner.Run.finish).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import select, text

from .. import codes
from ..errors import ConflictError, NotFoundError, PermissionDeniedError
from ..org import access
from ..org.roles import ROLES
from ..oversight.visibility import VISIBLE_SQL, NotVisibleError, check
from ..runtime.tasks import _require_may_complete
from ..storage.dbapi import Sql
from ..storage.jsondata import ensure_json
from ..storage.models import RoleAssignment, SavedFilter, TaskDraft, TaskRow
from ..work.worklist import FilterView, saved_filters

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

TASK = Sql("SELECT id, case_id, name, role, unit_id, state, assignee_id FROM tasks WHERE id = :id")
SAVE_DRAFT = Sql("""INSERT INTO task_drafts (task_id, user_id, data, saved_at) VALUES (:task_id, :user_id,
    :data, :now) ON CONFLICT (task_id, user_id) DO UPDATE SET data = excluded.data,
    saved_at = excluded.saved_at""")
DELETE_DRAFT = Sql("DELETE FROM task_drafts WHERE task_id = :task_id AND user_id = :user_id")
SET_FOLLOW_UP = Sql("""INSERT INTO follow_ups (task_id, user_id, on_date) VALUES (:task_id, :user_id, :on)
    ON CONFLICT (task_id, user_id) DO UPDATE SET on_date = excluded.on_date""")
DELETE_FOLLOW_UP = Sql("DELETE FROM follow_ups WHERE task_id = :task_id AND user_id = :user_id")


@dataclass(frozen=True)
class _Task:
    id: Any
    case_id: int
    name: str
    role: str | None
    unit_id: int
    state: str
    assignee_id: int | None


def _open_task(tx: Any, task_id: UUID | str) -> _Task:
    try:
        task_id = UUID(str(task_id))
    except ValueError:
        raise NotFoundError(f"task {task_id} does not exist") from None
    row = tx.first(TASK, {"id": tx.uuid(task_id)})
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    task = _Task(task_id, *row[1:])
    if task.state != "ready":
        raise ConflictError("conflict.task_state", task=task.name, state=codes.state(task.state))
    return task


# --- drafts ----------------------------------------------------------------------------------------------

def save_draft(engine: Engine, task_id: UUID | str, user_id: int, data: dict[str, Any]) -> None:
    """Keep the user's unfinished form data for a ready task they may complete (replaces their last)."""
    if type(data) is not dict:
        raise TypeError("a draft is an object of form fields")
    ensure_json(data, "draft")
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        task = _open_task(tx, task_id)
        _require_may_complete(task, user_id, access.roles_at_unit(tx, user_id, task.unit_id))
        tx.execute(SAVE_DRAFT, {"task_id": tx.uuid(task.id), "user_id": user_id, "data": tx.json(data),
                                "now": tx.time(now)})


def load_draft(engine: Engine, task_id: UUID | str, user_id: int) -> dict[str, Any] | None:
    """The user's own draft for a task, or None (none saved, or the task is no longer open)."""
    with engine.db.read() as session:
        return session.scalar(select(TaskDraft.data).join(TaskRow, TaskRow.id == TaskDraft.task_id).where(
            TaskDraft.task_id == UUID(str(task_id)), TaskDraft.user_id == user_id, TaskRow.state == "ready"))


def delete_draft(engine: Engine, task_id: UUID | str, user_id: int) -> None:
    with engine.db.transaction() as tx:
        tx.execute(DELETE_DRAFT, {"task_id": tx.uuid(UUID(str(task_id))), "user_id": user_id})


# --- follow-ups ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FollowUpDue:
    """An open task the user wanted to look at again by `on_date`."""

    task_id: UUID
    case_id: int
    task_name: str
    on_date: str
    due_at: datetime | None


def _iso(day: date | str) -> str:
    try:
        return (day if isinstance(day, date) else date.fromisoformat(day)).isoformat()
    except (TypeError, ValueError):
        raise ValueError(f"{day!r} is not a date (YYYY-MM-DD)") from None


def set_follow_up(engine: Engine, task_id: UUID | str, user_id: int, on_date: date | str | None) -> None:
    """Set (or with None remove) the user's own follow-up date on an open task of a case they may see."""
    day = None if on_date is None else _iso(on_date)
    with engine.db.transaction() as tx:
        if day is None:
            tx.execute(DELETE_FOLLOW_UP, {"task_id": tx.uuid(UUID(str(task_id))), "user_id": user_id})
            return
        task = _open_task(tx, task_id)
        if not check(tx, user_id, task.case_id)[1]:
            raise NotVisibleError(f"case {task.case_id} does not exist, or you may not see it")
        tx.execute(SET_FOLLOW_UP, {"task_id": tx.uuid(task.id), "user_id": user_id, "on": day})


def follow_ups_due(engine: Engine, user_id: int, today: date | str) -> list[FollowUpDue]:
    """The user's follow-ups due by `today` on tasks still open in cases they may still see."""
    query = text(f"""SELECT f.task_id, t.case_id, t.name, f.on_date, t.due_at FROM follow_ups f
        JOIN tasks t ON t.id = f.task_id JOIN cases ON cases.id = t.case_id
        WHERE f.user_id = :uid AND f.on_date <= :today AND t.state = 'ready' AND {VISIBLE_SQL}
        ORDER BY f.on_date, t.due_at""").columns(task_id=TaskRow.id.type, due_at=TaskRow.due_at.type)
    with engine.db.read() as session:
        rows = session.execute(query, {"uid": user_id, "yes": True, "today": _iso(today)}).all()
    return [FollowUpDue(*row) for row in rows]


# --- saved filters ---------------------------------------------------------------------------------------

def save_filter(engine: Engine, owner: int, name: str, query: dict[str, Any],
                shared_with_role: str | None = None) -> int:
    """Save an inbox filter (replacing the owner's filter of the same name); returns its id.

    It may be shared with a role only if the owner holds that role; it is then seen by that role's
    holders at the units where the owner holds it (see `filters_for`).
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a filter needs a name of at most 200 characters")
    if not name.isprintable():
        raise ValueError("a filter's name cannot hold control characters (a NUL, a line break, ...)")
    if type(query) is not dict:
        raise TypeError("a filter's query is an object")
    ensure_json(query, "filter")
    with engine.db.write() as session:
        if shared_with_role is not None:
            if shared_with_role not in ROLES:
                raise ValueError(f"unknown role {shared_with_role!r}")
            held = select(RoleAssignment.id).where(RoleAssignment.user_id == owner,
                                                   RoleAssignment.role == shared_with_role)
            if session.scalar(held.limit(1)) is None:
                raise PermissionDeniedError(f"you can share a filter only with a role you hold, not "
                                            f"{ROLES[shared_with_role].sv}")
        row = session.scalar(select(SavedFilter).where(SavedFilter.owner_id == owner,
                                                       SavedFilter.name == name))
        if row is None:
            row = SavedFilter(owner_id=owner, name=name, created_at=datetime.now(timezone.utc))
            session.add(row)
        row.query, row.shared_with_role = query, shared_with_role
        session.flush()
        return row.id


def filters_for(engine: Engine, user_id: int) -> list[FilterView]:
    """The user's own filters, then those shared with a role they hold at a unit where the owner holds it."""
    with engine.db.snapshot() as tx:
        return saved_filters(tx, user_id)


def delete_filter(engine: Engine, filter_id: int, user_id: int) -> None:
    """Delete a saved filter: its owner only."""
    with engine.db.write() as session:
        row = session.get(SavedFilter, filter_id)
        if row is None:
            raise NotFoundError(f"filter {filter_id} does not exist")
        if row.owner_id != user_id:
            raise PermissionDeniedError("only the person who saved a filter may delete it")
        session.delete(row)
