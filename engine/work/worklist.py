"""A person's worklist: their open tasks, filtered and sorted in the database, with the names to show.

The tasks are those `tasks.inbox` describes: assigned to the user, or unclaimed in a lane one of their
roles serves at a unit where they hold it. Each (unit, lane) pair, and the user's own assignments, is
one range scan of a partial index on open tasks, cut at the page size; filters on routine, unit and due
date go into those scans, so a filter never reads more than a page per pair. The names a row shows
(routine, unit, pupil) and the user's own follow-up date are joined onto the page only.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..org import access
from ..routines import definitions
from ..storage.dbapi import Sql
from ..storage.models import parse_id
from .notify import STOCKHOLM

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

SOON = timedelta(days=3)
DUE_FILTERS = ("forsenade", "snart")
SORTS = ("forfallo", "rutin", "enhet")
UNITS = Sql("""SELECT r.unit_id, r.role, su.name FROM role_assignments r
    JOIN school_units su ON su.id = r.unit_id WHERE r.user_id = :user_id""")
COLUMNS = "id, case_id, bpmn_id, name, process_key, unit_id, pupil_id, role, assignee_id, due_at, created_at"


@dataclass(frozen=True)
class Filter:
    """What the user asked to see. Unknown values were dropped when it was read (see `Filter.read`)."""

    routine: str = ""
    unit: int | None = None
    due: str = ""  # "", "forsenade" (overdue) or "snart" (due within SOON)
    unclaimed: bool = False  # only tasks nobody has taken
    follow_up: bool = False  # only tasks whose follow-up date (the user's own) has come
    sort: str = "forfallo"

    @classmethod
    def read(cls, args: dict[str, Any]) -> Filter:
        """A filter from query parameters (or a saved filter's query): anything unknown is ignored."""
        unit = str(args.get("enhet", "") or "")
        due = str(args.get("forfallo", "") or "")
        sort = str(args.get("sortera", "") or "")
        routine = str(args.get("rutin", "") or "")[:200]
        return cls(routine="" if "\x00" in routine else routine,  # no routine's key holds a NUL
                   unit=parse_id(unit),
                   due=due if due in DUE_FILTERS else "",
                   unclaimed=str(args.get("ej_tagna", "")) == "1",
                   follow_up=str(args.get("uppfoljning", "")) == "1",
                   sort=sort if sort in SORTS else "forfallo")

    def query(self) -> dict[str, str]:
        """The filter as query parameters (only those that differ from the defaults)."""
        found = {"rutin": self.routine, "enhet": str(self.unit) if self.unit else "", "forfallo": self.due,
                 "ej_tagna": "1" if self.unclaimed else "", "uppfoljning": "1" if self.follow_up else "",
                 "sortera": "" if self.sort == "forfallo" else self.sort}
        return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class Item:
    """One open task on the list, with what the row shows."""

    id: UUID
    case_id: int
    bpmn_id: str
    name: str
    process_key: str
    routine: str
    unit_id: int
    unit: str
    pupil_id: int | None  # None: a unit-level case's task (no pupil name or class either)
    pupil_name: str | None
    pupil_class: str | None
    protected_identity: bool
    role: str | None
    assignee_id: int | None
    due_at: datetime | None
    follow_up: date | None
    overdue: bool
    due_soon: bool
    mine: bool
    may_claim: bool
    may_release: bool
    state: str = "ready"


@dataclass(frozen=True)
class FilterView:
    """A saved filter as one user sees it: their own, or shared with a role they hold."""

    id: int
    name: str
    query: dict[str, Any]
    owner_id: int
    owner_name: str
    shared_with_role: str | None
    own: bool


FILTERS = Sql("""SELECT f.id, f.name, f.query, f.owner_id, u.name, f.shared_with_role FROM saved_filters f
    JOIN users u ON u.id = f.owner_id
    WHERE f.owner_id = :uid OR EXISTS (SELECT 1 FROM role_assignments mine JOIN role_assignments theirs
        ON theirs.unit_id = mine.unit_id AND theirs.role = mine.role
        WHERE mine.user_id = :uid AND mine.role = f.shared_with_role AND theirs.user_id = f.owner_id)
    ORDER BY CASE WHEN f.owner_id = :uid THEN 0 ELSE 1 END, f.name, f.id""")


def saved_filters(tx: Any, user_id: int) -> list[FilterView]:
    """The user's own saved filters, then those shared with a role they hold at a unit where the owner
    holds it."""
    return [FilterView(i, name, tx.read_json(query), owner, owner_name, role, owner == user_id)
            for i, name, query, owner, owner_name, role in tx.all(FILTERS, {"uid": user_id})]


@dataclass(frozen=True)
class Worklist:
    items: list[Item]
    truncated: bool  # more tasks match than the page holds
    units: dict[int, str]  # the user's units, by name: the unit filter's choices
    routines: dict[str, str]  # every deployed routine (newest name), by name: the routine filter's choices
    roles: frozenset[str]  # every role the user holds (a saved filter may be shared with these)
    filters: list[FilterView]  # the saved filters the user may use


@functools.lru_cache(maxsize=64)
def _statement(pairs: int, mine: bool, routine: bool, unit: bool, due: str, follow_up: bool,
               sort: str) -> Sql:
    """The worklist statement for one shape of question, built once."""
    where = ["state = 'ready'"]
    if routine:
        where.append("process_key = :routine")
    if unit:
        where.append("unit_id = :unit")
    if follow_up:
        where.append("id IN (SELECT task_id FROM follow_ups WHERE user_id = :uid AND on_date <= :today)")
    if due == "forsenade":
        where.append("due_at < :now")
    elif due == "snart":
        where.append("due_at >= :now AND due_at <= :soon")
    common = " AND ".join(where)
    order = "due_at NULLS LAST"  # the partial indexes' own order: each part is a short index range scan
    parts = []
    if mine:
        parts.append(f"SELECT * FROM (SELECT {COLUMNS} FROM tasks WHERE {common} AND assignee_id = :uid "
                     f"ORDER BY {order} LIMIT :inner) AS own")
    for i in range(pairs):
        parts.append(f"SELECT * FROM (SELECT {COLUMNS} FROM tasks WHERE {common} AND assignee_id IS NULL "
                     f"AND unit_id = :unit{i} AND role = :lane{i} ORDER BY {order} LIMIT :inner) AS pool{i}")
    if not parts:
        parts.append(f"SELECT {COLUMNS} FROM tasks WHERE 1 = 0")
    merged = " UNION ALL ".join(parts)
    ordering = {"rutin": "m.process_key, ", "enhet": "su.name, "}.get(sort, "")
    return Sql(f"""SELECT m.id, m.case_id, m.bpmn_id, m.name, m.process_key, m.unit_id, su.name, m.pupil_id,
        p.given_name, p.family_name, p.class_name, p.protected_identity, m.role, m.assignee_id, m.due_at,
        f.on_date FROM ({merged}) AS m JOIN school_units su ON su.id = m.unit_id
        LEFT JOIN pupils p ON p.id = m.pupil_id
        LEFT JOIN follow_ups f ON f.task_id = m.id AND f.user_id = :uid
        ORDER BY {ordering}m.due_at NULLS LAST, m.created_at LIMIT :limit OFFSET :offset""")


def worklist(engine: Engine, user_id: int, chosen: Filter = Filter(), *, limit: int = 100, offset: int = 0,
             now: datetime | None = None, today: date | None = None) -> Worklist:
    """The user's open tasks as `chosen` asks, soonest due first (or by routine or unit, then due date);
    at most `limit` rows after skipping `offset`, `truncated` when there are more."""
    now = now or datetime.now(timezone.utc)
    today = today or now.astimezone(STOCKHOLM).date()
    with engine.db.snapshot() as tx:
        units: dict[int, set[str]] = {}
        unit_names: dict[int, str] = {}
        for unit_id, role, unit_name in tx.all(UNITS, {"user_id": user_id}):
            units.setdefault(unit_id, set()).add(role)
            unit_names[unit_id] = unit_name
        pairs = sorted({(unit, lane) for unit, roles in units.items() if chosen.unit in (None, unit)
                        for role in roles for lane in access.lanes_served_by(role)})
        sql = _statement(len(pairs), not chosen.unclaimed, bool(chosen.routine), chosen.unit is not None,
                         chosen.due, chosen.follow_up, chosen.sort)
        offset = max(0, offset)
        params: dict[str, Any] = {"uid": user_id, "limit": limit + 1, "offset": offset,
                                  "inner": offset + limit + 1, "routine": chosen.routine,
                                  "unit": chosen.unit, "now": tx.time(now), "soon": tx.time(now + SOON),
                                  "today": today.isoformat()}
        for i, (unit, lane) in enumerate(pairs):
            params[f"unit{i}"], params[f"lane{i}"] = unit, lane
        rows = tx.all(sql, params)
        names = definitions.routine_names(engine, tx)
        filters = saved_filters(tx, user_id)
        items = [_item(tx, row, user_id, units, names, now) for row in rows[:limit]]
    if chosen.sort == "rutin":  # by the routine's name (the statement sorted by key, near enough)
        items.sort(key=lambda i: (i.routine.casefold(), i.due_at is None, i.due_at or now))
    return Worklist(items, len(rows) > limit,
                    dict(sorted(unit_names.items(), key=lambda pair: pair[1].casefold())),
                    names, frozenset().union(*units.values()), filters)


def _item(tx: Any, row: tuple, user_id: int, units: dict[int, set[str]], names: dict[str, str],
          now: datetime) -> Item:
    (id_, case_id, bpmn_id, name, key, unit_id, unit, pupil_id, given, family, klass, protected, role,
     assignee_id, due_at, follow_up) = row
    due = tx.read_time(due_at)
    held = units.get(unit_id, set())
    serves = access.serves(held, role)
    return Item(tx.read_uuid(id_), case_id, bpmn_id, name, key, names.get(key, key), unit_id, unit, pupil_id,
                None if pupil_id is None else f"{given} {family}", klass, bool(protected), role, assignee_id,
                due,
                date.fromisoformat(str(follow_up)[:10]) if follow_up else None,
                overdue=bool(due and due < now), due_soon=bool(due and now <= due <= now + SOON),
                mine=assignee_id == user_id, may_claim=assignee_id is None and serves,
                may_release=assignee_id is not None and (assignee_id == user_id or "rektor" in held))
