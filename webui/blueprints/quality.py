"""Kvalitet: the quality follow-up for those who answer for it (docs/quality.md) — figures per school unit,
routine and term with charts, their CSV and XLSX exports, the routine's diagram as a heat map, and a PDF
report for each of the årshjul's check-ins.

Only a rektor, a member of the student health team or the huvudman gets any of these pages, for the
units where they hold that role; everyone else gets the same 404 as for a page that does not exist.
Figures are aggregates and hidden below five for those who may not see the cases behind them
(engine/oversight/quality.py); the PDF report, written to be attached to the unit's quality report, hides
them for
everyone.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _

from elevflow.engine import parse_id
from elevflow.engine.expressions.terms import Term, window
from elevflow.engine.oversight import quality
from elevflow.engine.oversight.quality import Dashboard, Scope, Selection
from elevflow.engine.routines import definitions

from .. import charts, extensions
from .. import quality_tables as qt
from ..sessions import login_required

bp = Blueprint("quality", __name__)
TERMS_OFFERED = 8
TREND = ("anmalningar", "utredningar", "atgardsprogram", "kb_anmalningar", "franvaroutredningar")


def _scope() -> Scope:
    scope = quality.scope_for(extensions.engine(), g.user.id)
    if not scope:
        abort(404)
    return scope


def _selection(scope: Scope, routines: dict[str, str], *, routine: str | None = None) -> Selection:
    now = datetime.now(timezone.utc)
    unit = request.args.get("enhet", "")
    units = (parse_id(unit),) if parse_id(unit) in choosable(scope) else tuple(scope.units)
    chosen = routine if routine is not None else request.args.get("rutin", "")
    try:
        term = Term.parse(request.args.get("termin", ""))
    except ValueError:
        term = Term.of(now)
    return Selection(term, units, chosen if chosen in routines else None, as_of=now)


def choosable(scope: Scope) -> dict[int, str]:
    """The units one may look at one by one: those whose every case one may see
    (elevflow.engine.oversight.quality.dashboard
    says why); the others only together, with the per-unit table."""
    return {u: name for u, name in scope.units.items() if u in scope.exact}


def _filters(scope: Scope, selection: Selection, routines: dict[str, str]) -> dict[str, Any]:
    current = Term.of(datetime.now(timezone.utc))
    terms = window(current, TERMS_OFFERED)[::-1]
    if selection.term not in terms:
        terms.append(selection.term)
    return {"scope": scope, "selection": selection, "routines": routines, "terms": terms,
            "choosable": choosable(scope) if len(scope.units) > 1 else {},
            "unit": selection.units[0] if len(selection.units) == 1 and len(scope.units) > 1 else None,
            "query": {k: v for k, v in {"enhet": request.args.get("enhet", ""),
                                        "rutin": selection.routine or "",
                                        "termin": selection.term.key}.items() if v}}


@bp.get("/kvalitet")
@login_required
def index() -> Any:
    """The figures, filtered by unit, routine and term, with a trend chart and the lead times."""
    database = extensions.engine()
    scope = _scope()
    routines = definitions.routine_names(database)
    selection = _selection(scope, routines)
    dash = quality.dashboard(database, scope, selection)
    found = qt.tables(dash, routines)
    by_key = {s.key: s for s in dash.counts}
    labels = qt.measures()
    series = [(qt.named(labels, k), [by_key[k].by_term[t.key] for t in dash.terms])
              for k in TREND if k in by_key]
    trend = charts.trend("trend-title", _("Antal per termin"), [t.label for t in dash.terms], series) \
        if series else None
    names = qt.lead_times()
    leads = charts.bars("lead-title", _("Ledtider: median och 90:e percentilen, dagar"),
                        [(qt.named(names, t.key, t.label), t.median, t.p90) for t in dash.lead_times],
                        _("d")) \
        if dash.lead_times else None
    return render_template("quality/index.html", dash=dash, tables=found, trend=trend, leads=leads,
                           show=qt.show, label_columns=qt.label_columns,
                           **_filters(scope, selection, routines))


@bp.get("/kvalitet/export")
@login_required
def export() -> Any:
    """The page's tables as CSV (default) or XLSX (`format=xlsx`), as the viewer may see them."""
    database = extensions.engine()
    scope = _scope()
    routines = definitions.routine_names(database)
    selection = _selection(scope, routines)
    found = qt.tables(quality.dashboard(database, scope, selection), routines)
    name = f"kvalitet-{selection.term.key}"
    if request.args.get("format") == "xlsx":
        return _download(qt.to_xlsx(found), f"{name}.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _download(qt.to_csv(found), f"{name}.csv", "text/csv; charset=utf-8")


def _download(body: bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _heat(dash: Dashboard, routine: str, xml: str) -> dict[str, dict[str, Any]]:
    """Per step drawn in the routine's diagram: what its overlay says and how warm it is (0–4, by median
    time spent, against the slowest step of the diagram). Steps of the processes it calls are not drawn."""
    steps = [s for s in dash.steps if s.routine == routine and f'id="{s.bpmn_id}"' in xml]
    longest = max([s.median.value or 0 for s in steps] + [0])
    figures = {}
    for s in steps:
        level = 0 if not s.median.value or not longest else max(1, round(4 * s.median.value / longest))
        figures[s.bpmn_id] = {
            "level": level,
            "text": _("%(passed)s klara · median %(median)s d · %(open)s nu", passed=qt.show(s.passed),
                      median=qt.show(s.median, "days"), open=qt.show(s.open_now)),
        }
    return figures


@bp.get("/kvalitet/rutin")
@login_required
def process() -> Any:
    """The routine's diagram with, per step, how many cases passed it, the median time spent there and
    how many are there now — coloured by that time, so one sees where the routine stalls."""
    database = extensions.engine()
    scope = _scope()
    routines = definitions.routine_names(database)
    if not routines:
        abort(404)
    asked = request.args.get("rutin", "")
    fallback = "sarskilt_stod" if "sarskilt_stod" in routines else next(iter(routines))
    routine = asked if asked in routines else fallback
    selection = _selection(scope, routines, routine=routine)
    dash = quality.dashboard(database, scope, selection)
    steps = [s for s in dash.steps if s.routine == routine]
    heat = _heat(dash, routine, quality.routine_diagram(database, routine) or "")
    return render_template("quality/process.html", dash=dash, steps=steps, routine=routine,
                           figures=json.dumps(heat, ensure_ascii=False), show=qt.show,
                           **_filters(scope, selection, routines))


@bp.get("/kvalitet/rutin/diagram.bpmn")
@login_required
def diagram() -> Any:
    """The newest deployed version of a routine's diagram, for the process view's viewer."""
    _scope()
    xml = quality.routine_diagram(extensions.engine(), request.args.get("rutin", ""))
    if xml is None:
        abort(404)
    return Response(xml, mimetype="application/xml")


@bp.get("/kvalitet/avstamningar")
@login_required
def check_ins() -> Any:
    """The årshjul's check-ins at the user's units, each with its report."""
    scope = _scope()
    rows = quality.check_ins(extensions.engine(), scope.units)
    return render_template("quality/check_ins.html", rows=rows, scope=scope, day=_day)


def _day(moment: datetime | None) -> str:
    return format_date(moment, "yyyy-MM-dd") if moment else "–"


@bp.get("/kvalitet/avstamningar/<task_id>.pdf")
@login_required
def report(task_id: str) -> Any:
    """The follow-up report for one check-in: the unit's figures as they stood when it was done (or now,
    while it waits), for the term it falls in — small counts hidden for everyone, since the report is
    written to be attached to the quality report."""
    database = extensions.engine()
    scope = _scope()
    try:
        wanted = str(UUID(task_id))
    except ValueError:
        abort(404)
    found = [r for r in quality.check_ins(database, scope.units) if r[0] == wanted]
    if not found:
        abort(404)
    unit_id, unit_name, done = found[0][2], found[0][3], found[0][5]
    as_of = done or datetime.now(timezone.utc)
    routines = definitions.routine_names(database)
    public = Scope({unit_id: unit_name}, frozenset())  # hidden below five, whoever downloads it
    dash = quality.dashboard(database, public, Selection(Term.of(as_of), (unit_id,), as_of=as_of))
    title = _("Elevhälsans kvalitetsuppföljning – %(unit)s", unit=unit_name)
    subtitle = _("Underlag till årshjulets avstämning %(day)s, %(term)s. Systematiskt kvalitetsarbete, "
                 "4 kap. skollagen (2010:800).", day=_day(as_of), term=dash.selection.term.label)
    note = _("Siffrorna är sammanräknade från Elevflows ärenden och steg. Antal under fem visas som "
             "”färre än 5” och tider som vilar på färre än fem ärenden visas inte, så att ingen elev kan "
             "pekas ut. Ett steg räknas till den termin det blev klart, en ledtid till den termin dess "
             "senare steg blev klart. Hösttermin: 1 juli–31 december; vårtermin: 1 januari–30 juni.")
    body = qt.to_pdf(qt.tables(dash, routines), title=title, subtitle=subtitle, note=note, created_at=as_of)
    return _download(body, f"kvalitet-{dash.selection.term.key}-{as_of:%Y-%m-%d}.pdf", "application/pdf")
