"""What each quality figure counts, as the routine itself declares it (docs/quality.md, "Declaring a
routine's figures").

A routine declares its figures as properties of its process element (`spiffworkflow:property`, beside
`caseSubject`), so they are part of its diagram: a draft, a published version, an exported or imported
`.bpmn` file and the comparison of two versions all carry them, and a version keeps the ones it was
deployed with. Each property is one figure:

- `count:KEY`: how many times, per term, any of the items happened; an item is a step id (its completion),
  `decision=KIND` (a signed decision of that kind, found by its decision task's `decision` property) or
  `cancelled` (a case of the routine cancelled on a ground it allows, counted in the term it ended);
- `breakdown:KEY`: one term's count split into parts — `answers STEP.FIELD ...: PART ...` (the values
  given in a field of a step's form; a list answer counts each of its values; `PART=FIELD.VALUE` names
  a part for one field's value), `decisions: KIND ...` or `cancelled: GROUND ...`;
- `leadTime:KEY`: `FROM -> TO`, days from one point of a case to a later one; a point is a step id (its
  first completion in the case) or `decisions KIND ...` (the first signed decision of those kinds);
- `label:KEY`: the figure's name where Elevflow has no name of its own for KEY;
- `perUnit`: the counts (their keys) the per-school-unit table shows, in its order;
- `reportAt`: the steps (a unit's check-in, as the årshjul's) a follow-up report is drawn up for.

`parse` reads the declarations; `check` refuses those that name a step, field, decision kind or ground
the routine does not have, so renaming a step that a figure counts is refused at deploy and publish.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..codes import Coded
from .specs import CANCEL_GROUNDS, TaskMeta

KINDS = ("count", "breakdown", "leadTime", "label")
PER_UNIT = "perUnit"
REPORT_AT = "reportAt"
KEY = re.compile(r"[a-z0-9_]+")
SOURCES = ("answers", "decisions", "cancelled")


@dataclass(frozen=True)
class Point:
    """A moment of a case: the first completion of any of `steps`, or of a decision of any of `kinds`."""

    steps: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Count:
    key: str
    steps: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    cancelled: bool = False


@dataclass(frozen=True)
class Answer:
    step: str
    field: str


@dataclass(frozen=True)
class Breakdown:
    key: str
    source: str  # one of SOURCES
    parts: tuple[str, ...]  # in the order shown, zero or not
    answers: tuple[Answer, ...] = ()
    renames: tuple[tuple[str, str, str], ...] = ()  # (field, value, part)


@dataclass(frozen=True)
class LeadTime:
    key: str
    start: Point
    end: Point


@dataclass(frozen=True)
class Measures:
    """Every figure a routine declares, in the order it declares them."""

    counts: tuple[Count, ...] = ()
    breakdowns: tuple[Breakdown, ...] = ()
    lead_times: tuple[LeadTime, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    per_unit: tuple[str, ...] = ()
    report_at: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.counts or self.breakdowns or self.lead_times or self.report_at)


NONE = Measures()


def declares(name: str) -> bool:
    """Whether a process property is a figure's declaration (the others are the routine's own)."""
    return name in (PER_UNIT, REPORT_AT) or name.split(":", 1)[0] in KINDS and ":" in name


def _items(text: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", text.strip()) if item]


def _point(text: str) -> Point:
    words = _items(text)
    if words[:1] == ["decisions"]:
        return Point(kinds=tuple(words[1:]))
    return Point(steps=tuple(words))


def parse(properties: dict[str, str]) -> tuple[Measures, list[tuple[str, Coded]]]:
    """The figures among a process's properties (name -> value, in document order), and what is wrong
    with their form: (property name, why)."""
    counts, breakdowns, leads, labels, problems = [], [], [], {}, []
    per_unit: tuple[str, ...] = ()
    report_at: tuple[str, ...] = ()
    for name, value in properties.items():
        if not declares(name):
            continue
        if name in (PER_UNIT, REPORT_AT):
            if name == PER_UNIT:
                per_unit = tuple(_items(value))
            else:
                report_at = tuple(_items(value))
            continue
        kind, key = name.split(":", 1)
        if not KEY.fullmatch(key):
            problems.append((name, Coded("decl.key_form", {"key": key})))
            continue
        if kind == "label":
            labels[key] = value.strip()
        elif kind == "count":
            items = _items(value)
            steps = tuple(i for i in items if "=" not in i and i != "cancelled")
            kinds = tuple(i.split("=", 1)[1] for i in items if i.startswith("decision="))
            odd = [i for i in items if "=" in i and not i.startswith("decision=")]
            if odd or not items:
                problems.append((name, Coded("decl.count_form_not", {"items": odd}) if odd
                                 else Coded("decl.count_form")))
            counts.append(Count(key, steps, kinds, "cancelled" in items))
        elif kind == "leadTime":
            ends = value.split("->")
            start, end = (_point(ends[0]), _point(ends[1])) if len(ends) == 2 else (Point(), Point())
            if not (start.steps or start.kinds) or not (end.steps or end.kinds):
                problems.append((name, Coded("decl.lead_time_form")))
                continue
            leads.append(LeadTime(key, start, end))
        else:
            found, why = _breakdown(key, value)
            if why:
                problems.append((name, why))
            else:
                breakdowns.append(found)
    return Measures(tuple(counts), tuple(breakdowns), tuple(leads), labels, per_unit, report_at), problems


def _breakdown(key: str, value: str) -> tuple[Any, Coded | None]:
    head, colon, tail = value.partition(":")
    words = _items(head)
    if not colon or not words or words[0] not in SOURCES or not _items(tail):
        return None, Coded("decl.breakdown_form")
    answers = []
    for item in words[1:]:
        step, dot, name = item.partition(".")
        if not dot or not step or not name:
            return None, Coded("decl.not_step_field", {"item": item})
        answers.append(Answer(step, name))
    if words[0] == "answers" and not answers:
        return None, Coded("decl.answers_need_field")
    parts, renames = [], []
    for item in _items(tail):
        part, equals, given = item.partition("=")
        if equals:
            name, dot, answer = given.partition(".")
            if words[0] != "answers" or not dot:
                return None, Coded("decl.part_only_answers", {"item": item})
            renames.append((name, answer, part))
        parts.append(part)
    return Breakdown(key, words[0], tuple(parts), tuple(answers), tuple(renames)), None


def check(measures: Measures, tasks: dict[str, TaskMeta], forms: dict[str, Any]) -> list[tuple[str, Coded]]:
    """What the declarations name that the routine does not have: (property name, why). `tasks` are the
    routine's user tasks by id (its called processes' included), `forms` its forms."""
    kinds = {t.decision for t in tasks.values() if t.decision}
    problems: list[tuple[str, Coded]] = []

    known = sorted(k for k in kinds if k) or Coded("what.none")

    def steps(name: str, code: str, key: str, ids: tuple[str, ...]) -> None:
        problems.extend((name, Coded(code, {"key": key, "step": step})) for step in ids if step not in tasks)

    def decisions(name: str, code: str, key: str, named: tuple[str, ...]) -> None:
        problems.extend((name, Coded(code, {"key": key, "kind": kind, "kinds": known}))
                        for kind in named if kind not in kinds)

    for count in measures.counts:
        name = f"count:{count.key}"
        steps(name, "decl.count_step", count.key, count.steps)
        decisions(name, "decl.count_decision", count.key, count.kinds)
    for lead in measures.lead_times:
        name = f"leadTime:{lead.key}"
        for point in (lead.start, lead.end):
            steps(name, "decl.lead_step", lead.key, point.steps)
            decisions(name, "decl.lead_decision", lead.key, point.kinds)
    for breakdown in measures.breakdowns:
        problems += _check_breakdown(breakdown, tasks, forms, kinds)
    steps(REPORT_AT, "decl.report_at_step", "", measures.report_at)
    declared = {c.key for c in measures.counts}
    for key in measures.per_unit:
        if key not in declared:
            problems.append((PER_UNIT, Coded("decl.per_unit", {"key": key})))
    return problems


def _check_breakdown(breakdown: Breakdown, tasks: dict[str, TaskMeta], forms: dict[str, Any],
                     kinds: set[str | None] | set[str]) -> list[tuple[str, Coded]]:
    name, problems = f"breakdown:{breakdown.key}", []
    if breakdown.source == "decisions":
        problems += [(name, Coded("decl.breakdown_decision", {"key": breakdown.key, "kind": p}))
                     for p in breakdown.parts if p not in kinds]
    if breakdown.source == "cancelled":
        problems += [(name, Coded("decl.breakdown_ground", {"key": breakdown.key, "ground": p,
                                                             "known": list(CANCEL_GROUNDS)}))
                     for p in breakdown.parts if p not in CANCEL_GROUNDS]
    for answer in breakdown.answers:
        task = tasks.get(answer.step)
        if task is None:
            problems.append((name, Coded("decl.breakdown_step",
                                         {"key": breakdown.key, "step": answer.step})))
        elif answer.field not in form_fields(forms.get(task.form or "")):
            problems.append((name, Coded("decl.breakdown_field", {
                "key": breakdown.key, "field": answer.field, "step": answer.step,
                "form": task.form or Coded("what.no_form")})))
    read = {a.field for a in breakdown.answers}
    problems += [(name, Coded("decl.breakdown_part", {"key": breakdown.key, "field": f}))
                 for f, _, _ in breakdown.renames if f not in read]
    return problems


def form_fields(schema: Any) -> dict[str, Any]:
    """A form's fields (name -> schema), or none."""
    found = schema.get("properties") if isinstance(schema, dict) else None
    return found if isinstance(found, dict) else {}


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*a, *b)))


def merge(older: Measures, newer: Measures) -> Measures:
    """The newer version's figures, each also counting what the older declared under its key (so a step
    renamed along with the figure that counts it still counts the cases that passed the old one)."""
    counts = {c.key: c for c in older.counts}
    leads = {t.key: t for t in older.lead_times}
    breakdowns = {(b.key, b.source): b for b in older.breakdowns}
    merged_counts = tuple(
        Count(c.key, _union(c.steps, old.steps), _union(c.kinds, old.kinds), c.cancelled or old.cancelled)
        if (old := counts.get(c.key)) else c for c in newer.counts)
    merged_leads = tuple(
        LeadTime(t.key, Point(_union(t.start.steps, was.start.steps), _union(t.start.kinds, was.start.kinds)),
                 Point(_union(t.end.steps, was.end.steps), _union(t.end.kinds, was.end.kinds)))
        if (was := leads.get(t.key)) else t for t in newer.lead_times)
    merged_breakdowns = tuple(
        Breakdown(b.key, b.source, b.parts, tuple(dict.fromkeys((*b.answers, *had.answers))),
                  tuple(dict.fromkeys((*b.renames, *had.renames))))
        if (had := breakdowns.get((b.key, b.source))) else b for b in newer.breakdowns)
    return Measures(merged_counts, merged_breakdowns, merged_leads, newer.labels, newer.per_unit,
                    _union(newer.report_at, older.report_at))


def keys(measures: Measures) -> set[tuple[str, str]]:
    """The figure keys a routine uses: ("count" | "breakdown" | "leadTime", key)."""
    return ({("count", c.key) for c in measures.counts} | {("breakdown", b.key) for b in measures.breakdowns}
            | {("leadTime", t.key) for t in measures.lead_times})


def without(measures: Measures, taken: set[tuple[str, str]]) -> Measures:
    """The figures whose keys are not taken already (a figure's key names one figure across routines)."""
    counts = tuple(c for c in measures.counts if ("count", c.key) not in taken)
    return Measures(counts, tuple(b for b in measures.breakdowns if ("breakdown", b.key) not in taken),
                    tuple(t for t in measures.lead_times if ("leadTime", t.key) not in taken),
                    measures.labels, tuple(k for k in measures.per_unit if k in {c.key for c in counts}),
                    measures.report_at)
