"""Quality follow-up (domain brief §3 and §5): the step log as figures per school unit, routine and term.

Everything is read from task rows (every human step a case took, with when it opened, was due and was
done) and from the deployed routines: which figures each declares (engine/routines/quality_measures.py) and
which
decision each decision task records. Nothing here reads a case's workflow state or a pupil's name: the
figures are aggregates.

Who sees what (domain brief §4, docs/quality.md):

- the follow-up is for those who answer for it: a unit's **rektor**, its **student health team** (the
  årshjul's "Analysera befintliga data" is theirs: aggregated data, no single pupils) and the
  **huvudman**, each for the units where they hold that role; nobody else gets any figure;
- a figure counts cases; when the viewer may not see every case behind it (a rektor or EHT role at every
  unit it covers gives that right; the huvudman's role does not), a count of 1–4 is shown as "färre än 5"
  and a time or share that rests on fewer than 5 is not shown. Where parts add up to a total shown beside
  them and exactly one part is hidden, the smallest other part is hidden too, so it cannot be worked out.
  The figures of a unit-level routine (its cases have no pupil: the årshjul, a de-identified avvikelse)
  single no pupil out and are always shown.

A moment belongs to the term (engine/expressions/terms.py) it falls in; a step counts in the term it was
completed,
a lead time in the term its later step was completed. Times are in days.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import and_, case, func, literal, or_, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from ..errors import PermissionDeniedError
from ..expressions.terms import Term, window
from ..org.access import EHT_ROLES
from ..routines import quality_measures as declared
from ..routines.definitions import unit_routines
from ..routines.quality_measures import Measures
from ..storage.models import Case, ProcessVersion, RoleAssignment, SchoolUnit, TaskRow, User

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

SMALL = 5  # counts under this are hidden from those without access to the cases behind them
EXACT_ROLES = frozenset({"rektor"}) | EHT_ROLES  # see every case of the unit (visibility rule 1)
FOLLOW_UP_ROLES = EXACT_ROLES | {"huvudman"}
DAY = 86400.0
WORK_MEM = "64MB"  # for the report's grouping queries on PostgreSQL (SET LOCAL: its transaction only)


# --- who may see which figures --------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """The units a user may follow up (id -> name), and those whose every case they may see."""

    units: dict[int, str]
    exact: frozenset[int]

    def __bool__(self) -> bool:
        return bool(self.units)


def scope_for(engine: Engine, user_id: int) -> Scope:
    """The user's follow-up scope: units where they are active and hold rektor, an EHT role or huvudman."""
    with engine.db.read() as session:
        rows = session.execute(
            select(RoleAssignment.unit_id, RoleAssignment.role, SchoolUnit.name)
            .join(User, User.id == RoleAssignment.user_id)
            .join(SchoolUnit, SchoolUnit.id == RoleAssignment.unit_id)
            .where(RoleAssignment.user_id == user_id, User.active.is_(True),
                   RoleAssignment.role.in_(sorted(FOLLOW_UP_ROLES)))).all()
    units = dict(sorted(((u, n) for u, _, n in rows), key=lambda x: (x[1], x[0])))
    return Scope(units, frozenset(u for u, r, _ in rows if r in EXACT_ROLES))


# --- the figures ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One figure: `value` is None when there is nothing to show or it is hidden (`suppressed`)."""

    value: float | None
    n: int = 0  # how many cases or steps it rests on (0 when hidden)
    suppressed: bool = False


@dataclass(frozen=True)
class Series:
    key: str
    routine: str
    by_term: dict[str, Cell]  # term key -> count
    label: str = ""  # the name the routine declares (`label:KEY`), if any


@dataclass(frozen=True)
class LeadTime:
    key: str
    routine: str
    median: Cell  # days
    p90: Cell
    n: Cell  # how many cases
    label: str = ""


@dataclass(frozen=True)
class Step:
    """One step of a routine: completed in the term, on time, open and overdue now, time spent."""

    routine: str
    bpmn_id: str
    name: str
    passed: Cell
    on_time: Cell  # share of the completed steps that had a due time and met it (0..1)
    open_now: Cell
    overdue_now: Cell
    median: Cell  # days from opened to completed
    p90: Cell


@dataclass(frozen=True)
class Breakdown:
    key: str
    routine: str
    parts: dict[str, Cell]  # in the order the routine declares them
    label: str = ""


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    name: str
    counts: dict[str, Cell]  # the routines' perUnit counts, and "forsenade" (overdue now) for one routine


@dataclass(frozen=True)
class Selection:
    """What to compute: the term, the units (a subset of the viewer's scope), optionally one routine,
    how many terms the trend shows, and the moment "now" is (the figures as they stood then)."""

    term: Term
    units: tuple[int, ...]
    routine: str | None = None
    trend: int = 6
    as_of: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True)
class Dashboard:
    selection: Selection
    terms: list[Term]
    exact: bool  # the viewer may see every case behind the totals: nothing is hidden
    counts: list[Series]
    lead_times: list[LeadTime]
    steps: list[Step]
    breakdowns: list[Breakdown]
    units: list[UnitRow]


def _count(value: int, exact: bool) -> Cell:
    if not exact and 0 < value < SMALL:
        return Cell(None, 0, True)
    return Cell(value, value)


def _measure(value: float | None, n: int, exact: bool) -> Cell:
    if value is None or n == 0:
        return Cell(None, 0)
    if not exact and n < SMALL:
        return Cell(None, 0, True)
    return Cell(value, n)


def protect(parts: dict[Any, Cell]) -> dict[Any, Cell]:
    """Secondary suppression: parts of a total shown elsewhere; if exactly one is hidden, hide the
    smallest other non-zero part too, so the hidden one cannot be worked out by subtraction."""
    hidden = [k for k, c in parts.items() if c.suppressed]
    if len(hidden) != 1:
        return parts
    shown = [(c.value, str(k), k) for k, c in parts.items() if not c.suppressed and c.value]
    if not shown:
        return parts
    smallest = min(shown)[2]
    return {k: (Cell(None, 0, True) if k == smallest else c) for k, c in parts.items()}


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (as PostgreSQL percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _seconds(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * DAY


def _term_of(column: Any, terms: list[Term]) -> ColumnElement[Any]:
    return case(*[(and_(column >= t.start, column < t.end), literal(t.key)) for t in terms], else_=None)


#: The shipped routines' figures are shown in this order (as they always were); other routines follow by key.
SHOWN_FIRST = ("sarskilt_stod", "krankande_behandling", "franvaro", "avvikelse", "arshjul")


@dataclass(frozen=True)
class Catalogue:
    """What the deployed routines measure: per routine (in the order shown) the figures its newest version
    declares, each counting what any of its versions declared under that key (a step renamed along with
    its figure still counts the older cases); the decision each decision task records; and the answers
    that are lists, (routine, step, field)."""

    measures: dict[str, Measures]
    decisions: dict[tuple[str, str], str]
    listed: frozenset[tuple[str, str, str]]


_CATALOGUES: WeakKeyDictionary[Engine, tuple[tuple[int, int], Catalogue]] = WeakKeyDictionary()


def catalogue(engine: Engine) -> Catalogue:
    """Worked out from every deployed version's diagrams, again only when a version was deployed since
    (versions never change). A figure key another routine (earlier in the order) already uses is left out."""
    with engine.db.read() as session:
        versions = session.execute(select(ProcessVersion.id, ProcessVersion.key)
                                   .order_by(ProcessVersion.key, ProcessVersion.version)).all()
    signature = (len(versions), max((v for v, _ in versions), default=0))
    cached = _CATALOGUES.get(engine)
    if cached is not None and cached[0] == signature:
        return cached[1]
    decisions: dict[tuple[str, str], str] = {}
    merged: dict[str, Measures] = {}
    listed: set[tuple[str, str, str]] = set()
    for version_id, key in versions:
        parsed = engine.specs.get(version_id)
        for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_id", None) and getattr(task_spec, "manual", False):
                    kind = parsed.meta(task_spec).decision
                    if kind:
                        decisions[(key, task_spec.bpmn_id)] = kind
        measures, _ = declared.parse(parsed.properties)
        merged[key] = declared.merge(merged.get(key, declared.NONE), measures)
        tasks = parsed.user_tasks()
        for breakdown in measures.breakdowns:
            for answer in breakdown.answers:
                form = parsed.forms.get(tasks[answer.step].form or "") if answer.step in tasks else None
                if declared.form_fields(form).get(answer.field, {}).get("type") == "array":
                    listed.add((key, answer.step, answer.field))
    order = sorted(merged, key=lambda k: (SHOWN_FIRST.index(k) if k in SHOWN_FIRST else len(SHOWN_FIRST), k))
    taken: set[tuple[str, str]] = set()
    shown: dict[str, Measures] = {}
    for key in order:
        shown[key] = declared.without(merged[key], taken)
        taken |= declared.keys(shown[key])
    found = Catalogue({k: m for k, m in shown.items() if m}, decisions, frozenset(listed))
    _CATALOGUES[engine] = (signature, found)
    return found


def decision_steps(engine: Engine) -> dict[tuple[str, str], str]:
    """(routine, step) -> the kind of decision it records, from every deployed version's diagrams."""
    return catalogue(engine).decisions


def dashboard(engine: Engine, scope: Scope, selection: Selection) -> Dashboard:
    """Every figure of the follow-up for the selection, hidden as the viewer's scope demands.

    A viewer may narrow the units to some of their scope only where they see every case: otherwise the
    difference between the whole and the part would give hidden counts away (PermissionDeniedError).
    The per-unit table of the whole scope is where such a viewer sees the units one by one."""
    units = tuple(u for u in selection.units if u in scope.units)
    if set(units) != set(scope.units) and not all(u in scope.exact for u in units):
        raise PermissionDeniedError("figures for some of your units only are shown where you may see every "
                                    "case behind them; choose all your units")
    exact = all(u in scope.exact for u in units)
    unit_level = unit_routines(engine)  # their cases have no pupil: nothing to hide
    terms = window(selection.term, selection.trend)
    cat = catalogue(engine)
    decisions = cat.decisions
    measured = {r: m for r, m in cat.measures.items() if selection.routine in (None, r)}
    kinds = {r: {k for c in m.counts for k in c.kinds} | {p for b in m.breakdowns if b.source == "decisions"
                                                          for p in b.parts} for r, m in measured.items()}
    counted_steps = sorted({s for m in measured.values() for c in m.counts for s in c.steps}
                           | {step for (r, step), kind in decisions.items() if kind in kinds.get(r, ())})
    with engine.db.read() as session:
        conn = session.connection()
        # group in memory, not in sorted files on disk; this transaction only
        if engine.db.dialect == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        counted, answers = _completed(conn, units, terms, selection, counted_steps, cat)
        cancelled = _cancelled(conn, units, terms, selection, cat)
        leads = _lead_times(conn, engine.db.dialect, units, selection, cat)
        step_rows, spent = _steps(conn, engine.db.dialect, units, selection)

    per_unit: dict[tuple[int, str, str], int] = defaultdict(int)  # (unit, term, figure) -> count
    parts: dict[tuple[str, str, str], int] = defaultdict(int)  # (term, breakdown, part) -> count
    for (unit, term, process_key, bpmn_id), n in counted.items():
        measures = measured.get(process_key)
        if measures is None:
            continue
        kind = decisions.get((process_key, bpmn_id))
        for count in measures.counts:
            if bpmn_id in count.steps or kind in count.kinds:
                per_unit[(unit, term, count.key)] += n
        for b in measures.breakdowns:
            if b.source == "decisions" and kind in b.parts:
                parts[(term, b.key, kind)] += n
    for (unit, term, process_key, ground), n in cancelled.items():
        for count in measured[process_key].counts:
            if count.cancelled:
                per_unit[(unit, term, count.key)] += n
        for b in measured[process_key].breakdowns:
            if b.source == "cancelled":
                parts[(term, b.key, ground)] += n
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for (_, term, key), n in per_unit.items():
        totals[(term, key)] += n
    counts = [Series(c.key, r, {t.key: _count(totals[(t.key, c.key)], exact or r in unit_level)
                                for t in terms}, m.labels.get(c.key, ""))
              for r, m in measured.items() for c in m.counts]

    breakdowns = []
    for r, m in measured.items():
        for b in m.breakdowns:
            if b.source == "answers":
                values = {p: answers.get((b.key, p), 0) for p in b.parts}
            else:
                values = {p: parts[(selection.term.key, b.key, p)] for p in b.parts}
            breakdowns.append(Breakdown(b.key, r, protect({p: _count(v, exact) for p, v in values.items()}),
                                        m.labels.get(b.key, "")))

    lead_times = [LeadTime(lt.key, r, _measure(leads[lt.key][0], leads[lt.key][2], exact),
                           _measure(leads[lt.key][1], leads[lt.key][2], exact),
                           _measure(leads[lt.key][2], leads[lt.key][2], exact), m.labels.get(lt.key, ""))
                  for r, m in measured.items() for lt in m.lead_times if lt.key in leads]

    steps = []
    for (process_key, bpmn_id), row in sorted(step_rows.items()):
        name = row["name"]
        med, p90 = spent.get((process_key, bpmn_id), (None, None))
        shown = exact or process_key in unit_level
        steps.append(Step(process_key, bpmn_id, name, _count(row["passed"], shown),
                          _measure(row["on_time"] / row["due"] if row["due"] else None, row["due"], shown),
                          _count(row["open"], shown), _count(row["overdue"], shown),
                          _measure(med, row["passed"], shown), _measure(p90, row["passed"], shown)))

    unit_keys = tuple(k for m in measured.values() for k in m.per_unit)
    unit_rows = _unit_rows(scope, units, per_unit, step_rows, selection.term.key, unit_keys,
                           overdue=selection.routine is not None, shown=selection.routine in unit_level)
    return Dashboard(selection, terms, exact, counts, lead_times, steps, breakdowns, unit_rows)


def _unit_rows(scope: Scope, units: tuple[int, ...], per_unit: dict[tuple[int, str, str], int],
               step_rows: dict[tuple[str, str], dict[str, Any]], term: str,
               keys: tuple[str, ...], *, overdue: bool, shown: bool = False) -> list[UnitRow]:
    """The units one by one. Steps overdue now only for one routine: a column over all routines beside
    one per routine would give small differences away. `shown`: one unit-level routine, nothing hidden."""
    late: dict[int, int] = defaultdict(int)
    for row in step_rows.values():
        for unit, n in row["overdue_by_unit"].items():
            late[unit] += n
    cells = {u: {k: _count(per_unit.get((u, term, k), 0), shown or u in scope.exact) for k in keys}
             for u in units}
    if overdue:
        keys = (*keys, "forsenade")
        for u in units:
            cells[u]["forsenade"] = _count(late[u], shown or u in scope.exact)
    for key in keys:  # each column adds up to the total shown elsewhere on the page
        column = protect({u: cells[u][key] for u in units})
        for u in units:
            cells[u][key] = column[u]
    return [UnitRow(u, scope.units[u], cells[u]) for u in units]


# --- the queries ----------------------------------------------------------------------------------------

def _done_in(start: datetime, end: datetime, as_of: datetime) -> ColumnElement[bool]:
    return and_(TaskRow.state == "completed", TaskRow.completed_at >= start, TaskRow.completed_at < end,
                TaskRow.completed_at <= as_of)


def _completed(conn: Any, units: tuple[int, ...], terms: list[Term], selection: Selection, steps: list[str],
               cat: Catalogue) -> tuple[dict[tuple[int, str, str, str], int], dict[tuple[str, str], int]]:
    """The completed steps of those counted, per unit, term, routine and step over the trend's terms (one
    grouped scan); and the answers given in the selected term's completed steps, per breakdown and value
    (grouped in the database; a list answer is split here)."""
    as_of = selection.as_of
    where: list[ColumnElement[bool]] = [TaskRow.unit_id.in_(units)]
    if selection.routine:
        where.append(TaskRow.process_key == selection.routine)
    label = _term_of(TaskRow.completed_at, terms).label("term")
    rows = conn.execute(
        select(TaskRow.unit_id, label, TaskRow.process_key, TaskRow.bpmn_id, func.count())
        .where(*where, TaskRow.bpmn_id.in_(steps), _done_in(terms[0].start, terms[-1].end, as_of))
        .group_by(TaskRow.unit_id, label, TaskRow.process_key, TaskRow.bpmn_id)).all()
    counted = {(u, t, p, b): n for u, t, p, b, n in rows if t is not None}
    return counted, _answers(conn, where, selection, cat)


def _answers(conn: Any, where: list[Any], selection: Selection, cat: Catalogue) -> dict[tuple[str, str], int]:
    """(breakdown, part) -> how many answers of the selected term's completed steps gave it. The fields
    a step is read for are columns (one per field of the busiest step, lists apart), so one grouped scan
    reads them all."""
    readers: dict[tuple[str, str, str], list[Any]] = defaultdict(list)  # (routine, step, field) -> breakdowns
    for routine, measures in cat.measures.items():
        for b in measures.breakdowns:
            for answer in b.answers:
                readers[(routine, answer.step, answer.field)].append(b)
    if not readers:
        return {}
    fields: dict[bool, dict[tuple[str, str], list[str]]] = {False: defaultdict(list), True: defaultdict(list)}
    for routine, step, name in readers:
        fields[(routine, step, name) in cat.listed][(routine, step)].append(name)
    columns: list[Any] = []
    for listed in (False, True):
        for i in range(max((len(f) for f in fields[listed].values()), default=0)):
            columns.append((listed, i, case(*[(and_(TaskRow.process_key == r, TaskRow.bpmn_id == b),
                                                TaskRow.data[f[i]].as_string())
                                               for (r, b), f in fields[listed].items() if len(f) > i],
                                             else_=None).label(f"a{len(columns)}")))
    answered = sorted({step for _, step, _ in readers})
    rows = conn.execute(
        select(TaskRow.process_key, TaskRow.bpmn_id, *[c for _, _, c in columns], func.count())
        .where(*where, TaskRow.bpmn_id.in_(answered),
               _done_in(selection.term.start, selection.term.end, selection.as_of))
        .group_by(TaskRow.process_key, TaskRow.bpmn_id, *[c for _, _, c in columns])).all()
    found: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        routine, step, n = row[0], row[1], row[-1]
        for (listed, i, _), value in zip(columns, row[2:-1], strict=True):
            names = fields[listed].get((routine, step), [])
            if value is None or i >= len(names):
                continue
            if listed:
                values = [str(item) for item in orjson.loads(value)]
            else:
                values = [{"1": "true", "0": "false"}.get(str(value), str(value))]  # SQLite says 1 for true
            for b in readers[(routine, step, names[i])]:
                renamed = {(f, v): p for f, v, p in b.renames}
                for text in values:
                    found[(b.key, renamed.get((names[i], text), text))] += n
    return found


def _cancelled(conn: Any, units: tuple[int, ...], terms: list[Term], selection: Selection,
               cat: Catalogue) -> dict[tuple[int, str, str, str], int]:
    """Cases cancelled on an allowed ground, of the routines that count them, per unit, term (when
    cancelled), routine and ground."""
    routines = sorted(r for r, m in cat.measures.items() if selection.routine in (None, r)
                      and (any(c.cancelled for c in m.counts) or any(b.source == "cancelled"
                                                                     for b in m.breakdowns)))
    if not routines:
        return {}
    label = _term_of(Case.ended_at, terms).label("term")
    rows = conn.execute(
        select(Case.unit_id, label, Case.process_key, Case.cancel_ground, func.count())
        .where(Case.unit_id.in_(units), Case.process_key.in_(routines), Case.status == "cancelled",
               Case.cancel_ground.is_not(None), Case.ended_at >= terms[0].start,
               Case.ended_at < terms[-1].end, Case.ended_at <= selection.as_of)
        .group_by(Case.unit_id, label, Case.process_key, Case.cancel_ground)).all()
    return {(u, t, p, g): n for u, t, p, g, n in rows if t is not None}


def _point(point: declared.Point, decisions: dict[tuple[str, str], str], routine: str) -> tuple[str, ...]:
    found = set(point.steps) | {b for (r, b), kind in decisions.items()
                                if r == routine and kind in point.kinds}
    return tuple(sorted(found)) or ("-",)


def _lead_times(conn: Any, dialect: str, units: tuple[int, ...], selection: Selection,
                cat: Catalogue) -> dict[str, tuple[float | None, float | None, int]]:
    """Median and 90th percentile, in days, of each lead time ending in the term: per case (of those
    with an end point completed in the term) the first completion of each point, then the spread over
    the cases (PostgreSQL: percentile_cont in the database; SQLite, which has none, gets the per-case
    times and interpolates the same way here). One query for every routine."""
    term, as_of = selection.term, selection.as_of
    wanted = {t.key: (r, _point(t.start, cat.decisions, r), _point(t.end, cat.decisions, r))
              for r, m in cat.measures.items() if selection.routine in (None, r) for t in m.lead_times}
    if not wanted:
        return {}
    routines = sorted({r for r, _, _ in wanted.values()})
    points = sorted({(r, p) for r, a, b in wanted.values() for p in (a, b)})
    columns = [func.min(case((and_(TaskRow.process_key == r, TaskRow.bpmn_id.in_(p)),
                              TaskRow.completed_at), else_=None)).label(f"p{i}")
               for i, (r, p) in enumerate(points)]
    ends = sorted({s for _, _, b in wanted.values() for s in b})
    ending = select(TaskRow.case_id).where(
        TaskRow.process_key.in_(routines), TaskRow.unit_id.in_(units), TaskRow.bpmn_id.in_(ends),
        _done_in(term.start, term.end, as_of))
    per_case = (select(TaskRow.case_id, *columns)
                .where(TaskRow.process_key.in_(routines),
                       TaskRow.bpmn_id.in_(sorted({s for _, p in points for s in p})),
                       TaskRow.state == "completed", TaskRow.completed_at <= as_of,
                       TaskRow.case_id.in_(ending))
                .group_by(TaskRow.case_id).cte("per_case"))
    spans = []
    for key, (routine, start, end) in wanted.items():
        a = per_case.c[f"p{points.index((routine, start))}"]
        b = per_case.c[f"p{points.index((routine, end))}"]
        seconds = _seconds(dialect, a, b)
        where = and_(a.is_not(None), b >= term.start, b < term.end, b >= a)
        if dialect == "postgresql":
            spans.append(select(literal(key).label("key"), func.count().label("n"),
                                func.percentile_cont(0.5).within_group(seconds).label("median"),
                                func.percentile_cont(0.9).within_group(seconds).label("p90")).where(where))
        else:
            spans.append(select(literal(key).label("key"), seconds.label("s")).where(where))
    rows = conn.execute(union_all(*spans)).all()
    if dialect == "postgresql":
        return {key: (_days(median), _days(p90), n) for key, n, median, p90 in rows}
    spread: dict[str, list[float]] = defaultdict(list)
    for key, s in rows:
        spread[key].append(float(s))
    return {key: (_days(percentile(spread[key], 0.5)), _days(percentile(spread[key], 0.9)), len(spread[key]))
            for key in wanted}


def _days(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / DAY, 2)


def _steps(conn: Any, dialect: str, units: tuple[int, ...], selection: Selection) -> tuple[
        dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str], tuple[float | None, float | None]]]:
    """Per step: completed in the term, how many of those had a due time and met it, open and overdue
    at `as_of` (per unit too); and the median and 90th percentile of the time from opened to completed."""
    term, as_of = selection.term, selection.as_of
    done = _done_in(term.start, term.end, as_of)
    open_then = and_(TaskRow.created_at <= as_of,
                     or_(TaskRow.completed_at.is_(None), TaskRow.completed_at > as_of))

    def total(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    where: list[ColumnElement[bool]] = [TaskRow.unit_id.in_(units)]
    if selection.routine:
        where.append(TaskRow.process_key == selection.routine)
    seconds = _seconds(dialect, TaskRow.created_at, TaskRow.completed_at)
    counts = [func.max(TaskRow.name), total(done), total(and_(done, TaskRow.due_at.is_not(None))),
              total(and_(done, TaskRow.completed_at <= TaskRow.due_at)), total(open_then),
              total(and_(open_then, TaskRow.due_at < as_of))]
    keys = (TaskRow.unit_id, TaskRow.process_key, TaskRow.bpmn_id)
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    spent: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    if dialect == "postgresql":
        # One scan: the counts per unit and step, and (ordered-set aggregates skip the NULLs of steps not
        # done in the term) the spread per step over all units.
        only_done = case((done, seconds), else_=None)
        rows = conn.execute(
            select(*keys, *counts, func.percentile_cont(0.5).within_group(only_done),
                   func.percentile_cont(0.9).within_group(only_done), func.grouping(TaskRow.unit_id))
            .where(*where, or_(done, open_then))
            .group_by(func.grouping_sets(tuple_(*keys), tuple_(*keys[1:])))).all()
        by_unit = [r[:9] for r in rows if r[11] == 0]
        spent = {(r[1], r[2]): (_days(r[9]), _days(r[10])) for r in rows if r[11] == 1}
    else:
        by_unit = conn.execute(select(*keys, *counts).where(*where, or_(done, open_then))
                               .group_by(*keys)).all()
        spread: dict[tuple[str, str], list[float]] = defaultdict(list)
        for process_key, bpmn_id, s in conn.execute(
                select(TaskRow.process_key, TaskRow.bpmn_id, seconds).where(*where, done)):
            spread[(process_key, bpmn_id)].append(float(s))
        spent = {k: (_days(percentile(v, 0.5)), _days(percentile(v, 0.9))) for k, v in spread.items()}
    for unit, process_key, bpmn_id, name, passed, due, on_time, open_now, overdue in by_unit:
        row = steps.setdefault((process_key, bpmn_id), {"name": name, "passed": 0, "due": 0, "on_time": 0,
                                                        "open": 0, "overdue": 0, "overdue_by_unit": {}})
        row["passed"] += int(passed)
        row["due"] += int(due)
        row["on_time"] += int(on_time)
        row["open"] += int(open_now)
        row["overdue"] += int(overdue)
        row["overdue_by_unit"][unit] = int(overdue)
    return steps, spent


# --- the routine's diagram ------------------------------------------------------------------------------

def routine_diagram(engine: Engine, routine: str) -> str | None:
    """The BPMN XML of the newest deployed version of a routine (the file holding its process)."""
    with engine.db.read() as session:
        files = session.scalar(select(ProcessVersion.files).where(ProcessVersion.key == routine)
                               .order_by(ProcessVersion.version.desc()).limit(1))
    if not files:
        return None
    marker = f'id="{routine}"'
    for name in sorted(files):
        if marker in files[name] and "process" in files[name]:
            return str(files[name])
    return str(files[sorted(files)[0]])


def routines(engine: Engine) -> dict[str, str]:
    """Deployed routines: key -> the newest version's name."""
    with engine.db.read() as session:
        rows = session.execute(select(ProcessVersion.key, ProcessVersion.name, ProcessVersion.version)
                               .order_by(ProcessVersion.key, ProcessVersion.version)).all()
    return {key: name for key, name, _ in rows}


def check_ins(engine: Engine, units: Iterable[int]) -> list[tuple[str, int, int, str, str, datetime | None]]:
    """The check-ins of these units (the steps a routine's `reportAt` names: the årshjul's avstämning):
    (task id, case id, unit id, unit name, state, completed at), newest first — each is the moment a
    follow-up report is drawn up for."""
    steps = [and_(TaskRow.process_key == routine, TaskRow.bpmn_id.in_(measures.report_at))
             for routine, measures in catalogue(engine).measures.items() if measures.report_at]
    if not steps:
        return []
    with engine.db.read() as session:
        rows = session.execute(
            select(TaskRow.id, TaskRow.case_id, TaskRow.unit_id, SchoolUnit.name, TaskRow.state,
                   TaskRow.completed_at)
            .join(SchoolUnit, SchoolUnit.id == TaskRow.unit_id)
            .where(or_(*steps), TaskRow.unit_id.in_(list(units)), TaskRow.state.in_(("ready", "completed")))
            .order_by(TaskRow.created_at.desc())).all()
    return [(str(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


