"""Mina uppgifter: the user's open tasks, with filters, sorting and ready-made views."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import tasks
from engine.models import TaskRow
from engine.notify import local_date

from .. import extensions, lookups, permissions
from ..sessions import login_required

bp = Blueprint("inbox", __name__)
SOON = timedelta(days=3)
LIMIT = 500  # tasks read per page view; filters and sorting work on these
SORTS = ("forfallo", "rutin", "enhet")


@dataclass
class Item:
    """One row of the inbox."""

    task: TaskRow
    routine: str
    unit: str
    pupil: str
    due: str
    overdue: bool
    due_soon: bool
    mine: bool
    may_claim: bool
    may_release: bool


@bp.get("/")
@login_required
def home() -> Any:
    return redirect(url_for("inbox.index"))


@bp.get("/uppgifter")
@login_required
def index() -> Any:
    database = extensions.db()
    user_id = g.user.id
    units = permissions.units_of(database, user_id)
    rows = tasks.inbox(database, user_id, limit=LIMIT)
    routines = lookups.routines(database)
    unit_names = lookups.unit_names(database, set(units) | {t.unit_id for t in rows})
    pupils = lookups.pupils(database, {t.pupil_id for t in rows})
    now = datetime.now(timezone.utc)
    items = [Item(task=t, routine=routines.get(t.process_key, t.process_key),
                  unit=unit_names.get(t.unit_id, "–"),
                  pupil=lookups.pupil_label(pupils.get(t.pupil_id)),
                  due=local_date(t.due_at) if t.due_at else "", overdue=bool(t.due_at and t.due_at < now),
                  due_soon=bool(t.due_at and now <= t.due_at <= now + SOON), mine=t.assignee_id == user_id,
                  may_claim=permissions.may_claim(units.get(t.unit_id, set()), t),
                  may_release=permissions.may_release(units.get(t.unit_id, set()), t, user_id))
             for t in rows]
    chosen = _filters()
    shown = _sorted([i for i in items if _matches(i, chosen)], chosen["sortera"])
    return render_template("inbox/index.html", items=shown, total=len(items), chosen=chosen,
                           routines={t.process_key: routines.get(t.process_key, t.process_key) for t in rows},
                           units={u: unit_names.get(u, str(u)) for u in units}, truncated=len(rows) >= LIMIT,
                           views=_ready_views())


def _filters() -> dict[str, str]:
    args = request.args
    sort = args.get("sortera", "forfallo")
    due = args.get("forfallo", "")
    return {"rutin": args.get("rutin", ""), "enhet": args.get("enhet", ""),
            "forfallo": due if due in ("forsenade", "snart") else "",
            "ej_tagna": "1" if args.get("ej_tagna") == "1" else "",
            "sortera": sort if sort in SORTS else "forfallo"}


def _matches(item: Item, chosen: dict[str, str]) -> bool:
    if chosen["rutin"] and item.task.process_key != chosen["rutin"]:
        return False
    if chosen["enhet"] and str(item.task.unit_id) != chosen["enhet"]:
        return False
    if chosen["forfallo"] == "forsenade" and not item.overdue:
        return False
    if chosen["forfallo"] == "snart" and not item.due_soon:
        return False
    return not (chosen["ej_tagna"] and item.task.assignee_id is not None)


def _sorted(items: list[Item], sort: str) -> list[Item]:
    far = datetime.max.replace(tzinfo=timezone.utc)

    def due(item: Item) -> datetime:
        return item.task.due_at or far

    if sort == "rutin":
        return sorted(items, key=lambda i: (i.routine.casefold(), due(i)))
    if sort == "enhet":
        return sorted(items, key=lambda i: (i.unit.casefold(), due(i)))
    return sorted(items, key=due)


def _ready_views() -> list[tuple[str, str]]:
    """The ready-made views: (label, link)."""
    return [(_("Alla mina uppgifter"), url_for("inbox.index")),
            (_("Försenade"), url_for("inbox.index", forfallo="forsenade")),
            (_("Förfaller inom 3 dagar"), url_for("inbox.index", forfallo="snart")),
            (_("Ej tagna vid mina enheter"), url_for("inbox.index", ej_tagna="1"))]
