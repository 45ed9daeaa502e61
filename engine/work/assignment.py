"""Who a task goes to: candidates by lane and unit, claim, release, reassign, and written delegations.

Every change is audited. A rektor's decisions may be signed by someone else only through a recorded
written delegation (Skollagen 2:10), and never the decisions the law keeps with the rektor (3:9).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select

from .. import codes
from ..errors import ConflictError, NotFoundError, PermissionDeniedError
from ..org import access
from ..storage import audit
from ..storage.dbapi import Sql, Tx
from ..storage.models import Delegation, RoleAssignment, User
from .notify import notify

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

# Decisions the rektor takes personally (Skollagen 3:9 second paragraph): never delegable.
NON_DELEGABLE = frozenset({"sarskild_undervisningsgrupp", "enskild_undervisning", "distansundervisning",
                           "anpassad_studiegang"})

_TASK = """SELECT t.id, t.case_id, t.pupil_id, t.unit_id, t.role, t.name, t.state, t.assignee_id, t.bpmn_id,
    c.process_version_id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE t.id = :id"""
TASK = {"sqlite": Sql(_TASK), "postgresql": Sql(_TASK + " FOR NO KEY UPDATE OF t")}
# Guarded by the holder the caller saw, so a concurrent claim makes this one change nothing.
SET_ASSIGNEE = {True: Sql("UPDATE tasks SET assignee_id = :to WHERE id = :id AND state = 'ready' "
                          "AND assignee_id IS NULL"),
                False: Sql("UPDATE tasks SET assignee_id = :to WHERE id = :id AND state = 'ready' "
                           "AND assignee_id = :was")}
ACTIVE_DELEGATION = Sql("""SELECT id FROM delegations WHERE unit_id = :unit_id AND delegate_id = :user_id
    AND decision = :decision AND revoked_at IS NULL AND valid_from <= :now
    AND (valid_until IS NULL OR valid_until > :now) ORDER BY id LIMIT 1""")
INSERT_DELEGATION = Sql("""INSERT INTO delegations (unit_id, delegate_id, decision, document, granted_by,
    valid_from, valid_until, created_at) VALUES (:unit_id, :delegate_id, :decision, :document, :granted_by,
    :valid_from, :valid_until, :now) RETURNING id""")
_DELEGATION = "SELECT unit_id, revoked_at, delegate_id, decision FROM delegations WHERE id = :id"
DELEGATION = {"sqlite": Sql(_DELEGATION), "postgresql": Sql(_DELEGATION + " FOR NO KEY UPDATE")}
REVOKE = Sql("UPDATE delegations SET revoked_at = :now, revoked_by = :by WHERE id = :id")
ACTIVE_ROLES = Sql("""SELECT r.role FROM role_assignments r JOIN users u ON u.id = r.user_id
    WHERE r.user_id = :user_id AND r.unit_id = :unit_id AND u.active = :yes""")
TASK_DECISION = Sql("""SELECT c.process_version_id, t.bpmn_id FROM tasks t JOIN cases c ON c.id = t.case_id
    WHERE t.id = :id""")


@dataclass(frozen=True)
class _Task:
    id: UUID
    case_id: int
    pupil_id: int | None
    unit_id: int
    role: str | None
    name: str
    state: str
    assignee_id: int | None
    bpmn_id: str = ""
    process_version_id: int = 0


def _require_not_personal(engine: Engine, task: _Task) -> None:
    """A task its routine marks `personal` is its holder's own duty (e.g. an orosanmälan, 29 kap. 13 §
    skollagen): nobody else may make it in their name, so it is never released to a lane or handed on."""
    meta = engine.specs.get(task.process_version_id).user_tasks().get(task.bpmn_id)
    if meta is not None and meta.personal:
        raise PermissionDeniedError(f"{task.name!r} is the personal duty of the one who holds it; "
                                    "it cannot be released or handed to someone else")


def _task(tx: Tx, task_id: UUID) -> _Task:
    row = tx.first(TASK[tx.dialect], {"id": tx.uuid(task_id)})
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    task = _Task(tx.read_uuid(row[0]), *row[1:])
    if task.state != "ready":
        raise ConflictError("conflict.task_state", task=task.name, state=codes.state(task.state))
    return task


def _may_serve(tx: Tx, user_id: int, task: _Task) -> bool:
    held = access.roles_at_unit(tx, user_id, task.unit_id)
    return access.serves(held, task.role)


def may_take(tx: Tx, user_id: int, unit_id: int, lane_role: str | None, decision: str | None,
             non_delegable: bool, now: datetime) -> bool:
    """Whether a task may be handed to this user (named in case data, or reassigned): they are active
    and hold a role its lane serves at the unit, or — for a decision the rektor may delegate — hold a
    written delegation in force for that kind of decision there. Nobody else: handing a task to someone
    must never show them a case they could not already be given through its lane."""
    held = {role for (role,) in tx.all(ACTIVE_ROLES, {"user_id": user_id, "unit_id": unit_id, "yes": True})}
    if access.serves(held, lane_role):
        return True
    if not decision or non_delegable or decision in NON_DELEGABLE or not held - access.NO_LANE:
        return False
    return active_delegation(tx, unit_id, user_id, decision, now) is not None


def _assign(tx: Tx, task: _Task, to: int | None, by: int, now: datetime, kind: str, **data: object) -> None:
    params = {"id": tx.uuid(task.id), "to": to, "was": task.assignee_id}
    if tx.rowcount(SET_ASSIGNEE[task.assignee_id is None], params) != 1:
        raise ConflictError("conflict.task_changed", task=task.name)
    audit.append(tx, [audit.Event(kind, by, task.case_id, task.pupil_id, task.unit_id,
                                  {"task_id": str(task.id), **data})], now)


def claim(engine: Engine, task_id: UUID, *, by: int) -> None:
    """Take an open task of one's lane at one's unit; it leaves the others' inboxes."""
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        task = _task(tx, task_id)
        if task.assignee_id == by:
            return
        if task.assignee_id is not None:
            raise ConflictError("conflict.task_taken", task=task.name, user=str(task.assignee_id))
        if not _may_serve(tx, by, task):
            raise PermissionDeniedError(f"user {by} may not take {task.name!r}: it is for "
                                        f"{task.role} at school unit {task.unit_id}")
        _assign(tx, task, by, by, now, "task_assigned", assignee_id=by, reason="claimed")


def release(engine: Engine, task_id: UUID, *, by: int) -> None:
    """Give a taken task back to its lane (its holder, or the unit's rektor)."""
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        task = _task(tx, task_id)
        if task.assignee_id is None:
            return
        if task.assignee_id != by and "rektor" not in access.roles_at_unit(tx, by, task.unit_id):
            raise PermissionDeniedError(f"only the person who has {task.name!r}, or the rektor, "
                                        "may release it")
        _require_not_personal(engine, task)
        _assign(tx, task, None, by, now, "task_released", previous_assignee_id=task.assignee_id)


def reassign(engine: Engine, task_id: UUID, *, to: int, by: int, reason: str) -> None:
    """Hand a task to someone else, with the reason (its holder, or the unit's rektor, may do this).

    The new holder must be able to do the task (`may_take`): hold a role its lane serves at the unit, or,
    for a decision the rektor may delegate, a written delegation in force for that kind of decision.
    """
    if not reason.strip():
        raise ValueError("a reason is required to reassign a task")
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        task = _task(tx, task_id)
        if task.assignee_id != by and "rektor" not in access.roles_at_unit(tx, by, task.unit_id):
            raise PermissionDeniedError(f"only the person who has {task.name!r}, or the rektor, "
                                        "may reassign it")
        _require_not_personal(engine, task)
        version_id, bpmn_id = tx.first(TASK_DECISION, {"id": tx.uuid(task.id)})
        meta = engine.specs.get(version_id).user_tasks().get(bpmn_id)
        decision, non_delegable = (meta.decision, meta.non_delegable) if meta else (None, False)
        if not may_take(tx, to, task.unit_id, task.role, decision, non_delegable, now):
            lacking = f" and no written delegation for {decision!r}" if decision else ""
            raise PermissionDeniedError(f"user {to} cannot take {task.name!r}: no role for it at the "
                                        f"unit{lacking}")
        _assign(tx, task, to, by, now, "task_assigned", assignee_id=to, previous_assignee_id=task.assignee_id,
                reason=reason)
        notify(tx, to, "task_assigned", case_id=task.case_id, task_id=task.id, now=now,
               config=engine.config)


def candidates(engine: Engine, unit_id: int, lane_role: str) -> list[User]:
    """The active users who may take a task of `lane_role` at a unit (the lane's role resolved)."""
    with engine.db.read() as session:
        return list(session.scalars(
            select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.unit_id == unit_id, User.active.is_(True),
                   RoleAssignment.role.in_(access.roles_serving(lane_role)))
            .distinct().order_by(User.name)))


# --- delegations ---------------------------------------------------------------------------------------

def active_delegation(tx: Tx, unit_id: int, user_id: int, decision: str, now: datetime) -> int | None:
    """The id of a delegation in force letting `user_id` sign `decision` at the unit, if any."""
    return tx.scalar(ACTIVE_DELEGATION, {"unit_id": unit_id, "user_id": user_id, "decision": decision,
                                         "now": tx.time(now)})


def grant_delegation(engine: Engine, *, unit_id: int, delegate_id: int, decision: str, document: str, by: int,
                     valid_from: datetime | None = None, valid_until: datetime | None = None) -> int:
    """Record the rektor's written delegation of a kind of decision; returns its id."""
    if decision in NON_DELEGABLE:
        raise PermissionDeniedError(f"{decision} is a decision the rektor takes personally "
                                    "(Skollagen 3:9); it cannot be delegated")
    if not document.strip():
        raise ValueError("a delegation must name the written delegation order it rests on")
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        if "rektor" not in access.roles_at_unit(tx, by, unit_id):
            raise PermissionDeniedError("only the unit's rektor may delegate decisions")
        if not access.roles_at_unit(tx, delegate_id, unit_id) - access.NO_LANE:
            raise PermissionDeniedError(f"user {delegate_id} works on no cases at school unit {unit_id}; "
                                        "a decision can be delegated only to someone who does")
        delegation_id = tx.scalar(INSERT_DELEGATION, {
            "unit_id": unit_id, "delegate_id": delegate_id, "decision": decision, "document": document,
            "granted_by": by, "valid_from": tx.time(valid_from or now), "valid_until": tx.time(valid_until),
            "now": tx.time(now)})
        audit.append(tx, [audit.Event("delegation_granted", by, unit_id=unit_id, data={
            "delegation_id": delegation_id, "delegate_id": delegate_id, "decision": decision,
            "document": document})], now)
    return delegation_id


def revoke_delegation(engine: Engine, delegation_id: int, *, by: int) -> None:
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        row = tx.first(DELEGATION[tx.dialect], {"id": delegation_id})
        if row is None:
            raise NotFoundError(f"delegation {delegation_id} does not exist")
        unit_id, revoked_at, delegate_id, decision = row
        if "rektor" not in access.roles_at_unit(tx, by, unit_id):
            raise PermissionDeniedError("only the unit's rektor may revoke a delegation")
        if revoked_at is not None:
            return
        tx.execute(REVOKE, {"id": delegation_id, "now": tx.time(now), "by": by})
        audit.append(tx, [audit.Event("delegation_revoked", by, unit_id=unit_id, data={
            "delegation_id": delegation_id, "delegate_id": delegate_id, "decision": decision})], now)


def delegations(engine: Engine, unit_id: int) -> list[Delegation]:
    with engine.db.read() as session:
        return list(session.scalars(select(Delegation).where(Delegation.unit_id == unit_id)
                                    .order_by(Delegation.id)))
