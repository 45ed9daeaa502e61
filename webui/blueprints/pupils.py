"""Elever: find a pupil at one's own school units, start a routine for them; start a unit-level routine (the
årshjul, an avvikelse: a case of the school unit, with no pupil) for one of one's units; the rektor's access
history."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from elevflow.engine.errors import PermissionDeniedError
from elevflow.engine.routines import definitions
from elevflow.engine.runtime import cases, failures
from elevflow.engine.views import names, people, pupils, taskview
from elevflow.engine.work.notify import local_date

from .. import casepage, extensions, lookups
from ..codes import say_error
from ..i18n import select_locale
from ..sessions import login_required
from .cases import status_names

bp = Blueprint("pupils", __name__)


@bp.get("/elever")
@login_required
def search() -> Any:
    """Search by name or class among the pupils of the units the user works at (no one else's)."""
    database = extensions.engine()
    units = people.case_units(database, g.user.id)
    term = request.args.get("q", "").strip()[:100]
    found = pupils.search(database, g.user.id, term) if term else []
    for_pupils, for_units = routines_by_subject(database)
    return render_template("pupils/search.html", term=term, pupils=found, too_short=0 < len(term) < 2,
                           routines=for_pupils, unit_routines=for_units,
                           units=names.unit_names(database, units))


def routines_by_subject(database: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The deployed routines by name: those started for a pupil, and those started for a school unit."""
    names = definitions.routine_names(database)
    unit_level = definitions.unit_routines(database)
    return ({k: v for k, v in names.items() if k not in unit_level},
            {k: v for k, v in names.items() if k in unit_level})


@bp.post("/elever/<int:pupil_id>/starta")
@login_required
def start(pupil_id: int) -> Any:
    """Start a routine for a pupil; go to its first task when that is the user's to do."""
    database = extensions.engine()
    pupil = pupils.startable(database, g.user.id, pupil_id)
    if pupil is None:
        abort(404)
    key = request.form.get("rutin", "")
    routines, _for_units = routines_by_subject(database)
    if key not in routines:  # a unit-level routine is never started for a pupil
        flash(_("Välj vilken rutin som ska startas."), "error")
        return redirect(url_for("pupils.search", q=request.form.get("q", "")))
    running = pupils.running_cases(database, g.user.id, pupil.id, key)
    if running and request.form.get("bekrafta") != "1":  # a duplicate? say so, start only when confirmed
        return render_template("pupils/duplicate.html", pupil=pupil, key=key, routine=routines[key],
                               running=running, term=request.form.get("q", ""), day=local_date), 409
    try:
        case = cases.start_case(database, key, pupil_id=pupil.id, by=g.user.id)
    except failures.ROUTINE_ERRORS as exc:  # the routine's first step failed: nothing was saved
        return _not_started(key, routines[key], exc)
    return _started(database, case.id, routines[key])


@bp.get("/elever/<int:pupil_id>")
@login_required
def pupil(pupil_id: int) -> Any:
    """A pupil's page: every case of theirs the user may see, open and closed; for a running one who does
    what next and by when, and what its routine shows here (the adaptations, the programme); starting
    another routine for them. A pupil the user may not find reads as none (404)."""
    database = extensions.engine()
    found = pupils.page(database, g.user.id, pupil_id)
    if found is None:
        abort(404)
    language = select_locale()
    labelled = {}
    for item in found.cases:
        if item.current and item.process_version_id is not None:
            by_task = definitions.task_forms(database, item.process_version_id)
            labelled[item.summary.id] = [
                row for step, name, value in item.current
                for row in casepage.readable(by_task, step, {name: value})]
    routines, _for_units = routines_by_subject(database)
    startable = pupils.startable(database, g.user.id, pupil_id) is not None
    return render_template("pupils/pupil.html", page=found, labelled=labelled, routines=routines,
                           startable=startable, day=local_date, statuses=status_names(),
                           role=lambda r: lookups.role_name(r, language))


@bp.post("/skolenhet/starta")
@login_required
def start_for_unit() -> Any:
    """Start a unit-level routine for one of the user's school units: its case has no pupil."""
    database = extensions.engine()
    units = people.case_units(database, g.user.id)
    unit = request.form.get("enhet", "")
    if not unit.isdigit() or int(unit) not in units:
        abort(404)
    key = request.form.get("rutin", "")
    _for_pupils, routines = routines_by_subject(database)
    if key not in routines:
        flash(_("Välj vilken rutin som ska startas."), "error")
        return redirect(url_for("pupils.search"))
    try:
        case = cases.start_case(database, key, unit_id=int(unit), by=g.user.id)
    except failures.ROUTINE_ERRORS as exc:
        return _not_started(key, routines[key], exc)
    return _started(database, case.id, routines[key])


def _not_started(key: str, routine: str, exc: Exception) -> Any:
    """The routine's first step failed: nothing was saved; say so, and who can fix it."""
    current_app.logger.warning("starting %s failed in the routine: %s", key, exc)
    flash(_("Ärendet kunde inte startas: rutinen ”%(routine)s” stannade på ett fel, så inget sparades. "
            "Säg till processägaren. Fel: %(error)s", routine=routine, error=say_error(exc)), "error")
    return redirect(url_for("pupils.search", q=request.form.get("q", "")))


def _started(database: Any, case_id: int, routine: str) -> Any:
    """After starting a case: its first task when that is the user's to do, else the inbox."""
    flash(_("Ärendet ”%(routine)s” har startats.", routine=routine), "success")
    first = taskview.first_task_for(database, g.user.id, case_id)
    if first is not None:
        return redirect(url_for("tasks.task", task_id=first))
    return redirect(url_for("inbox.index"))


@bp.get("/elever/<int:pupil_id>/atkomst")
@login_required
def access(pupil_id: int) -> Any:
    """Who opened the pupil's cases, and when: for the rektor of the pupil's unit only (others: 404).
    Asking is logged too."""
    database = extensions.engine()
    try:
        pupil, rows = pupils.access_history(database, pupil_id, asked_by=g.user.id)
    except PermissionDeniedError:
        abort(404)
    return render_template("pupils/access.html", rows=rows, pupil=lookups.pupil_label(pupil, in_list=False),
                           actions=action_names(), when=lookups.local_time)


def action_names() -> dict[str, str]:
    return {"view_case": _("Öppnade ärendet"), "view_task": _("Öppnade en uppgift"),
            "download_document": _("Hämtade ett beslut"),
            "preview_document": _("Förhandsgranskade ett beslut"),
            "view_access_history": _("Såg åtkomsthistoriken")}
