"""The case's earlier documentation as one step needs it: the steps it builds on, with who wrote each and
when, and its form's first values — both as the routine declares them (engine/routines/step_declarations.py).

Everything is read through `visibility.open_case`: the look is checked against need-to-know and written to
the access log, and what the medical part recorded stays withheld unless it was released or the reader may
see it — withheld documentation is shown as withheld and never copied into a form.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..expressions.terms import STOCKHOLM
from ..oversight import visibility
from ..routines.step_declarations import DECISIONS, GUARDIANS, TODAY, Fill, parse_prefill
from . import appeals

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine
    from ..views.taskview import TaskView


@dataclass(frozen=True)
class Entry:
    """One completed step the page shows: `data` None when `withheld` (the medical zone)."""

    task_id: UUID
    bpmn_id: str
    name: str
    completed_by_name: str | None
    completed_at: datetime | None
    withheld: bool
    data: dict[str, Any] | None


@dataclass(frozen=True)
class StepContext:
    """What a step's page shows above its form, and the form's declared first values."""

    entries: list[Entry]
    prefill: dict[str, Any]
    declared: bool  # the routine declares what the step builds on (else a decision's whole basis)


def for_task(engine: Engine, user_id: int, view: TaskView, *, at: datetime | None = None) -> StepContext:
    """The documentation `view`'s step builds on, as `user_id` may see it (the look logged as a case view,
    "beslutsunderlag" for a decision, else "underlag för steget"), and its form's prefill as of `at`
    (now). A decision's page shows every completed step (its basis) when the routine declares nothing
    for it."""
    meta = view.meta
    wanted = set(meta.context) if meta else set()
    fills, _ = parse_prefill(meta.prefill if meta else "")
    if not wanted and not fills and not view.is_decision:
        return StepContext([], {}, False)
    case = visibility.open_case(engine, user_id, view.case_id,
                                detail="beslutsunderlag" if view.is_decision else "underlag för steget")
    parsed = engine.specs.get(case.process_version_id)
    decisions = {bpmn_id for bpmn_id, m in parsed.user_tasks().items() if m.decision}
    if DECISIONS in wanted:
        wanted |= decisions
    done = [t for t in case.tasks if t.state == "completed" and t.id != view.id]
    shown = [t for t in done if (t.bpmn_id in wanted if meta and meta.context else view.is_decision)
             and (t.data or t.withheld)]
    entries = [Entry(t.id, t.bpmn_id, t.name, t.completed_by_name, t.completed_at, t.withheld,
                     None if t.withheld else t.data) for t in shown]
    latest = {t.bpmn_id: t.data for t in done if t.data and not t.withheld}
    return StepContext(entries, _prefill(engine, fills, latest, view, at or engine.clock()),
                       bool(meta and meta.context))


def _prefill(engine: Engine, fills: list[Fill], latest: dict[str, dict[str, Any]], view: TaskView,
             at: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    today = at.astimezone(STOCKHOLM).date().isoformat()
    for fill in sorted(fills, key=lambda f: f.source == TODAY):  # a day for each row, after the rows
        if fill.source == TODAY:
            if fill.target_key is None:
                values[fill.target] = today
            else:
                for row in values.get(fill.target) or []:
                    row.setdefault(fill.target_key, today)
            continue
        if fill.source == GUARDIANS:
            if view.pupil_id is not None:
                # the pupil is a recipient when 16 on the day the step opened
                proposed = appeals.proposed_recipients(engine, view.pupil_id, view.created_at).get(
                    appeals.RECIPIENTS)
                values[fill.target] = [dict(r) for r in proposed or []]
            continue
        found = (latest.get(fill.step or "") or {}).get(fill.field or "")
        if found in (None, "", []):
            continue
        kind = _kind(view, fill.target, fill.target_key)
        if fill.key is not None:
            rows_read = found if isinstance(found, list) else []
            items = [row.get(fill.key) for row in rows_read if isinstance(row, dict)]
        elif isinstance(found, list) and kind != "rows":
            items = found
        elif isinstance(found, str) and (fill.target_key is not None or kind == "list"):
            items = [line.strip() for line in found.splitlines()]  # a text into rows or a list: its lines
        else:
            values[fill.target] = found
            continue
        items = [i for i in items if i not in (None, "")]
        if fill.target_key is not None:
            rows = values.setdefault(fill.target, [])
            for i, item in enumerate(items):
                if i == len(rows):
                    rows.append({})
                rows[i][fill.target_key] = item
        elif kind == "text":
            values[fill.target] = "\n".join(str(i) for i in items)
        else:
            values[fill.target] = items
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def _kind(view: TaskView, name: str, key: str | None) -> str:
    """"text", "list" or "rows": what the form's field `name` holds (a row's `key`: "row")."""
    schema = ((view.schema or {}).get("properties") or {}).get(name, {})
    if key is not None:
        return "row"
    if schema.get("type") == "array":
        return "rows" if (schema.get("items") or {}).get("type") == "object" else "list"
    return "text" if schema.get("type") == "string" else "other"
