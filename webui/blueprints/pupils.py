"""Elever: find a pupil at one's own school units, start a routine for them; the rektor's access history."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import cases, definitions, failures, people, taskview, visibility
from engine.errors import PermissionDeniedError
from engine.models import Pupil

from .. import extensions, lookups
from ..sessions import login_required

bp = Blueprint("pupils", __name__)


@bp.get("/elever")
@login_required
def search() -> Any:
    """Search by name or class among the pupils of the units the user works at (no one else's)."""
    database = extensions.db()
    units = people.units(database, g.user.id)
    term = request.args.get("q", "").strip()[:100]
    found = lookups.search_pupils(database, units, term) if term else []
    return render_template("pupils/search.html", term=term, pupils=found, too_short=0 < len(term) < 2,
                           routines=definitions.routine_names(database),
                           units=lookups.unit_names(database, units))


@bp.post("/elever/<int:pupil_id>/starta")
@login_required
def start(pupil_id: int) -> Any:
    """Start a routine for a pupil; go to its first task when that is the user's to do."""
    database = extensions.db()
    units = people.units(database, g.user.id)
    pupil = lookups.pupils(database, [pupil_id]).get(pupil_id)
    if pupil is None or pupil.unit_id not in units or not pupil.active:
        abort(404)
    key = request.form.get("rutin", "")
    routines = definitions.routine_names(database)
    if key not in routines:
        flash(_("Välj vilken rutin som ska startas."), "error")
        return redirect(url_for("pupils.search", q=request.form.get("q", "")))
    try:
        case = cases.start_case(database, key, pupil_id=pupil.id, by=g.user.id)
    except failures.ROUTINE_ERRORS as exc:  # the routine's first step failed: nothing was saved
        current_app.logger.warning("starting %s failed in the routine: %s", key, exc)
        flash(_("Ärendet kunde inte startas: rutinen ”%(routine)s” stannade på ett fel, så inget sparades. "
                "Säg till processägaren. Fel: %(error)s", routine=routines[key], error=str(exc)), "error")
        return redirect(url_for("pupils.search", q=request.form.get("q", "")))
    flash(_("Ärendet ”%(routine)s” har startats.", routine=routines[key]), "success")
    first = taskview.first_task_for(database, g.user.id, case.id)
    if first is not None:
        return redirect(url_for("tasks.task", task_id=first))
    return redirect(url_for("inbox.index"))


@bp.get("/elever/<int:pupil_id>/atkomst")
@login_required
def access(pupil_id: int) -> Any:
    """Who opened the pupil's cases, and when: for the rektor of the pupil's unit only (others: 404).
    Asking is logged too."""
    database = extensions.db()
    try:
        rows = visibility.access_history(database, pupil_id, asked_by=g.user.id)
    except PermissionDeniedError:
        abort(404)
    with database.read() as session:
        pupil = session.get(Pupil, pupil_id)
    return render_template("pupils/access.html", rows=rows, pupil=lookups.pupil_label(pupil, in_list=False),
                           actions=action_names(), when=lookups.local_time)


def action_names() -> dict[str, str]:
    return {"view_case": _("Öppnade ärendet"), "view_task": _("Öppnade en uppgift"),
            "download_document": _("Hämtade ett beslut"),
            "view_access_history": _("Såg åtkomsthistoriken")}
