"""Elever: find a pupil at one's own school units, and start a routine for them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import cases, tasks
from engine.models import Pupil

from .. import extensions, lookups, permissions
from ..sessions import login_required

bp = Blueprint("pupils", __name__)


@bp.get("/elever")
@login_required
def search() -> Any:
    """Search by name or class among the pupils of the units the user works at (no one else's)."""
    database = extensions.db()
    units = permissions.units_of(database, g.user.id)
    term = request.args.get("q", "").strip()[:100]
    found = lookups.search_pupils(database, units, term) if term else []
    return render_template("pupils/search.html", term=term, pupils=found, too_short=0 < len(term) < 2,
                           routines=lookups.routines(database),
                           units=lookups.unit_names(database, units))


@bp.post("/elever/<int:pupil_id>/starta")
@login_required
def start(pupil_id: int) -> Any:
    """Start a routine for a pupil; go to its first task when that is the user's to do."""
    database = extensions.db()
    units = permissions.units_of(database, g.user.id)
    with database.read() as session:
        pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.unit_id not in units or not pupil.active:
        abort(404)
    key = request.form.get("rutin", "")
    routines = lookups.routines(database)
    if key not in routines:
        flash(_("Välj vilken rutin som ska startas."), "error")
        return redirect(url_for("pupils.search", q=request.form.get("q", "")))
    case = cases.start_case(database, key, pupil_id=pupil.id, by=g.user.id)
    flash(_("Ärendet ”%(routine)s” har startats.", routine=routines[key]), "success")
    for row in tasks.list_tasks(database, case_id=case.id, state="ready"):
        if permissions.may_complete(database, row, g.user.id):
            return redirect(url_for("tasks.task", task_id=row.id))
    return redirect(url_for("inbox.index"))
