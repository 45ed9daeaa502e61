"""A task as the person about to work on it sees it: read, checked and logged in one transaction.

The web's task page is the busiest page there is, so everything it shows comes from here in one short
transaction on the bare DB-API connection: the task with its case, pupil, unit and routine; whether the
user may see the case (the need-to-know rule, with the look written to the access log); the user's roles
at the unit and so what they may do with the task; their own draft and follow-up date; and, for fields
that name the person a later step goes to, the people who may be named.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..errors import NotFoundError
from ..org import access
from ..oversight.visibility import LOG, PROTECTED_NAME, NotVisibleError, check
from ..routines.specs import TaskMeta
from ..storage.dbapi import Sql, Tx
from . import people

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

TASK = Sql("""SELECT t.id, t.case_id, t.process_key, t.bpmn_id, t.name, t.role, t.unit_id, t.pupil_id,
    t.assignee_id, t.state, t.form, t.created_at, t.due_at, t.completed_at, t.completed_by,
    c.row_version, c.status, c.process_version_id, pv.name, su.name, p.given_name, p.family_name,
    p.class_name, p.protected_identity, a.name, cb.name,
    (SELECT d.data FROM task_drafts d WHERE d.task_id = t.id AND d.user_id = :uid),
    (SELECT d.saved_at FROM task_drafts d WHERE d.task_id = t.id AND d.user_id = :uid),
    (SELECT f.on_date FROM follow_ups f WHERE f.task_id = t.id AND f.user_id = :uid)
    FROM tasks t JOIN cases c ON c.id = t.case_id JOIN process_versions pv ON pv.id = c.process_version_id
    JOIN school_units su ON su.id = t.unit_id LEFT JOIN pupils p ON p.id = t.pupil_id
    LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN users cb ON cb.id = t.completed_by
    WHERE t.id = :id""")
RIGHTS = Sql("SELECT name, role, unit_id, state, assignee_id, case_id FROM tasks WHERE id = :id")
FORM_OF = Sql("""SELECT c.process_version_id, t.form, t.bpmn_id FROM tasks t JOIN cases c ON c.id = t.case_id
    WHERE t.id = :id""")


@dataclass(frozen=True)
class Candidate:
    """Someone a form field may name: active staff at the unit holding a role the lane of the step they
    would be named for serves — the only people the engine hands that step to (`assignment.may_take`)."""

    id: int
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class TaskView:
    """One task, its case's header facts, and what this user may do with it."""

    id: UUID
    case_id: int
    process_key: str
    bpmn_id: str
    name: str
    role: str | None
    unit_id: int
    pupil_id: int | None  # None: a task of a unit-level case (pupil_name and pupil_class None too)
    assignee_id: int | None
    assignee_name: str | None
    state: str
    form: str | None
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: int | None
    completed_by_name: str | None
    case_row_version: int
    case_status: str
    process_version_id: int
    routine_name: str
    unit_name: str
    pupil_name: str | None
    pupil_class: str | None
    protected_identity: bool
    held: frozenset[str]
    serves: bool
    may_complete: bool
    may_claim: bool
    may_release: bool
    draft: dict[str, Any] | None
    draft_saved_at: datetime | None
    follow_up: date | None
    meta: TaskMeta | None
    schema: dict[str, Any] | None
    #: form fields naming a person, each with the people who may be named
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)

    @property
    def is_decision(self) -> bool:
        return bool(self.meta and self.meta.decision)


def _uuid(task_id: UUID | str) -> UUID | None:
    try:
        return UUID(str(task_id))
    except ValueError:
        return None


def open_task(engine: Engine, user_id: int, task_id: UUID | str, *, log: bool = True) -> TaskView:
    """The task as `user_id` may see it. With `log` (a page view) the look goes to the access log,
    refused or not, as "view_task".

    Refuses with NotVisibleError (reads as "no such task") when the task does not exist or the user may
    not see its case; a user who may see the case but may not work on the task gets the view with
    `may_complete` False, and decides what to show from that.
    """
    wanted = _uuid(task_id)
    now = datetime.now(timezone.utc)
    with (engine.db.transaction() if log else engine.db.snapshot()) as tx:
        row = tx.first(TASK, {"id": tx.uuid(wanted), "uid": user_id}) if wanted else None
        seen, allowed = check(tx, user_id, row[1]) if row else (None, False)
        if log:
            tx.execute(LOG, {"at": tx.time(now), "user_id": user_id, "case_id": seen and seen.case_id,
                             "pupil_id": seen and seen.pupil_id, "unit_id": seen and seen.unit_id,
                             "action": "view_task", "allowed": allowed, "detail": f"task {task_id}"[:300]})
        if row is None or seen is None or not allowed:
            view = None
        else:
            view = _view(engine, tx, user_id, row, seen.named)
    if view is None:
        raise NotVisibleError(f"task {task_id} does not exist, or you may not see it")
    return view


def _view(engine: Engine, tx: Tx, user_id: int, row: tuple, named: bool) -> TaskView:
    (id_, case_id, process_key, bpmn_id, name, role, unit_id, pupil_id, assignee_id, state, form,
     created_at, due_at, completed_at, completed_by, row_version, status, version_id, routine, unit_name,
     given, family, klass, protected, assignee_name, completed_by_name, draft, draft_at, follow_up) = row
    held = frozenset(access.roles_at_unit(tx, user_id, unit_id))
    rights = _rights(user_id, role, state, assignee_id, held, name, case_id)
    parsed = engine.specs.get(version_id)
    meta = parsed.user_tasks().get(bpmn_id)
    schema = parsed.forms.get(form) if form else None
    hidden = protected and not (named or rights.may_complete)
    candidates: dict[str, list[Candidate]] = {}
    wanted = {name_: roles for name_, roles in parsed.assignee_fields().items()
              if schema and name_ in (schema.get("properties") or {})}
    if wanted and rights.may_complete:
        staff: dict[int, tuple[str, list[str]]] = {}
        for uid, uname, held_role in people.staff_at(tx, unit_id):
            staff.setdefault(uid, (uname, []))[1].append(held_role)
        for field_name, lanes in wanted.items():
            serving = frozenset().union(*(access.roles_serving(lane) for lane in lanes))
            found = [Candidate(uid, uname, tuple(sorted(roles)))
                     for uid, (uname, roles) in staff.items() if serving & set(roles)]
            candidates[field_name] = sorted(found, key=lambda c: (c.name.casefold(), c.id))
    return TaskView(
        tx.read_uuid(id_), case_id, process_key, bpmn_id, name, role, unit_id, pupil_id, assignee_id,
        assignee_name, state, form, tx.required_time(created_at), tx.read_time(due_at),
        tx.read_time(completed_at), completed_by, completed_by_name, row_version, status, version_id, routine,
        unit_name, None if pupil_id is None else PROTECTED_NAME if hidden else f"{given} {family}",
        None if hidden else klass,
        bool(protected), held, rights.serves, rights.may_complete, rights.may_claim, rights.may_release,
        draft=tx.read_json(draft) if draft is not None and state == "ready" else None,
        draft_saved_at=tx.read_time(draft_at), follow_up=_day(follow_up),
        meta=meta, schema=schema, candidates=candidates)


@dataclass(frozen=True)
class Rights:
    """What one user may do with one task, from their roles at its unit (`held`)."""

    name: str
    case_id: int
    role: str | None  # the task's lane role
    state: str
    assignee_id: int | None
    held: frozenset[str]
    serves: bool  # holds a role the task's lane serves, at its unit
    may_complete: bool
    may_claim: bool
    may_release: bool


def _rights(user_id: int, role: str | None, state: str, assignee_id: int | None, held: frozenset[str],
            name: str = "", case_id: int = 0) -> Rights:
    """The assignee may complete an assigned task; a holder of a role its lane serves, an open one. Its
    holder or the unit's rektor may give it back."""
    serves = access.serves(held, role)
    ready = state == "ready"
    return Rights(name, case_id, role, state, assignee_id, held, serves,
                  may_complete=ready and (assignee_id == user_id if assignee_id is not None else serves),
                  may_claim=ready and assignee_id is None and serves,
                  may_release=ready and assignee_id is not None
                  and (assignee_id == user_id or "rektor" in held))


def rights(engine: Engine, user_id: int, task_id: UUID | str) -> Rights:
    """What the user may do with a task (claim, release, complete) — without reading its case: for the
    buttons of a list, where the task may have moved on since the list was drawn."""
    wanted = _uuid(task_id)
    with engine.db.snapshot() as tx:
        row = tx.first(RIGHTS, {"id": tx.uuid(wanted)}) if wanted else None
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        name, role, unit_id, state, assignee_id, case_id = row
        held = frozenset(access.roles_at_unit(tx, user_id, unit_id))
    return _rights(user_id, role, state, assignee_id, held, name, case_id)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class FormOf:
    """What reading a submitted form needs, nothing more: the task's form and whether it is a decision."""

    schema: dict[str, Any] | None
    decision: str | None


def form_of(engine: Engine, task_id: UUID | str) -> FormOf:
    wanted = _uuid(task_id)
    with engine.db.snapshot() as tx:
        row = tx.first(FORM_OF, {"id": tx.uuid(wanted)}) if wanted else None
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    version_id, form, bpmn_id = row
    parsed = engine.specs.get(version_id)
    meta = parsed.user_tasks().get(bpmn_id)
    return FormOf(parsed.forms.get(form) if form else None, meta.decision if meta else None)


FIRST_READY = Sql("""SELECT t.id, t.role, t.assignee_id, t.unit_id FROM tasks t
    WHERE t.case_id = :case_id AND t.state = 'ready' ORDER BY t.created_at""")


def first_task_for(engine: Engine, user_id: int, case_id: int) -> UUID | None:
    """The first open task of a case the user may complete now (after starting it: go straight there)."""
    with engine.db.snapshot() as tx:
        for id_, role, assignee_id, unit_id in tx.all(FIRST_READY, {"case_id": case_id}):
            held = frozenset(access.roles_at_unit(tx, user_id, unit_id))
            if _rights(user_id, role, "ready", assignee_id, held).may_complete:
                return tx.read_uuid(id_)
    return None
