"""Who may open and act on a task in the web app: the engine's own rules (engine.access), read-only.

A task is shown only to those who may complete it: its assignee, or — while nobody has it — a holder of
a role its lane serves at the pupil's school unit. Its holder or the unit's rektor may release it.
"""
from __future__ import annotations

from sqlalchemy import select

from engine import access
from engine.models import RoleAssignment, TaskRow
from engine.store import Database


def roles_at(db: Database, user_id: int, unit_id: int) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(RoleAssignment.role).where(
            RoleAssignment.user_id == user_id, RoleAssignment.unit_id == unit_id)))


def units_of(db: Database, user_id: int) -> dict[int, set[str]]:
    """The school units a user works at, with their roles at each."""
    units: dict[int, set[str]] = {}
    with db.read() as session:
        for unit_id, role in session.execute(select(RoleAssignment.unit_id, RoleAssignment.role)
                                             .where(RoleAssignment.user_id == user_id)):
            units.setdefault(unit_id, set()).add(role)
    return units


def may_serve(held: set[str], task: TaskRow) -> bool:
    """Whether roles `held` at the task's unit make one a candidate for it."""
    return bool(held & access.roles_serving(task.role)) if task.role else bool(held)


def may_complete(db: Database, task: TaskRow, user_id: int) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == user_id
    return may_serve(roles_at(db, user_id, task.unit_id), task)


def may_claim(held: set[str], task: TaskRow) -> bool:
    return task.state == "ready" and task.assignee_id is None and may_serve(held, task)


def may_release(held: set[str], task: TaskRow, user_id: int) -> bool:
    return task.state == "ready" and task.assignee_id is not None and (
        task.assignee_id == user_id or "rektor" in held)
