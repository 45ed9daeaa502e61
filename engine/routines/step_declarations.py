"""What a user task declares about the case's earlier documentation: the steps it builds on (`context`)
and where its form's fields take their first values from (`prefill`). Parsed and checked at deploy and
publish: a step or field the routine does not have is refused with a code, like a quality figure's.

    <spiffworkflow:property name="context" value="Task_pedagogisk_kartlaggning Task_samrad_elevhalsa" />
    <spiffworkflow:property name="prefill"
        value="anmalan_datum=today; anmalan_amnen=Task_extra_anpassningar.anpassningar[amne]" />

`context` lists step ids (user tasks of the routine, its called processes included) and `decisions` (every
decision signed in the case so far, for steps of a shared process such as an appeal). `prefill` is a list
of `TARGET=SOURCE` clauses separated by `;`. TARGET is a field of the step's form, or `field[key]`: one key
of each row of a list of rows. SOURCE is one of

- `today`: the day the form is opened (the target is a date);
- `guardians`: the pupil's active guardians from the organisation, one row each (the target is a list of
  rows; the pupil too when 16 or older, as a decision's recipients);
- `STEP.FIELD`: the field's value the last time the step was completed in the case;
- `STEP.FIELD[KEY]`: one key of each row of that list of rows.

A list (rows' keys, or a list of texts) fills `field[key]` row by row, a list as its items, a text as its
lines; a text read into `field[key]` or a list gives one row or item per line.

The values are proposals: the form shows them and its user may change every one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..codes import Coded

CONTEXT = "context"
PREFILL = "prefill"
DECISIONS = "decisions"
TODAY = "today"
GUARDIANS = "guardians"

_NAME = r"[A-Za-z_][\w-]*"
_TARGET = re.compile(rf"(?P<field>{_NAME})(?:\[(?P<key>{_NAME})\])?")
_SOURCE = re.compile(rf"(?P<step>{_NAME})\.(?P<field>{_NAME})(?:\[(?P<key>{_NAME})\])?")


@dataclass(frozen=True)
class Fill:
    """One prefill clause: `target` (with `target_key` for one key of each row) from `source` — "today",
    "guardians" or "step" (then `step`, `field` and `key` name what is read)."""

    target: str
    target_key: str | None
    source: str
    step: str | None = None
    field: str | None = None
    key: str | None = None


def parse_prefill(text: str) -> tuple[list[Fill], list[Coded]]:
    fills: list[Fill] = []
    problems: list[Coded] = []
    for clause in (c.strip() for c in (text or "").split(";")):
        if not clause:
            continue
        target, _, source = (p.strip() for p in clause.partition("="))
        wanted = _TARGET.fullmatch(target)
        read = _SOURCE.fullmatch(source)
        if wanted is None or not source:
            problems.append(Coded("step.prefill_form", {"clause": clause}))
        elif source in (TODAY, GUARDIANS):
            fills.append(Fill(wanted["field"], wanted["key"], source))
        elif read is not None:
            fills.append(Fill(wanted["field"], wanted["key"], "step", read["step"], read["field"],
                              read["key"]))
        else:
            problems.append(Coded("step.prefill_form", {"clause": clause}))
    return fills, problems


def context_steps(value: str) -> tuple[str, ...]:
    return tuple(value.split())


def _kind(schema: dict[str, Any] | None) -> str:
    """A field's shape for matching sources to targets: date, text, number, boolean, rows, list, other."""
    if not isinstance(schema, dict):
        return "other"
    kind = schema.get("type")
    if kind == "string":
        return "date" if schema.get("format") == "date" else "text"
    if kind == "array":
        items = schema.get("items") or {}
        return "rows" if items.get("type") == "object" else "list"
    return {"integer": "number", "number": "number", "boolean": "boolean"}.get(str(kind), "other")


def _properties(schema: dict[str, Any] | None) -> dict[str, Any]:
    return (schema or {}).get("properties") or {}


def _items(schema: dict[str, Any] | None) -> dict[str, Any]:
    return _properties((schema or {}).get("items"))


def check(bpmn_id: str, form: str | None, context: tuple[str, ...], prefill: str, tasks: dict[str, Any],
          forms: dict[str, Any]) -> list[Coded]:
    """What is wrong with one user task's `context` and `prefill` (`tasks`: the routine's user tasks by
    id, each with `.form`; `forms`: the routine's forms by file name)."""
    problems = [Coded("step.context_unknown_step", {"step": step})
                for step in context if step != DECISIONS and step not in tasks]
    problems += [Coded("step.context_itself", {"step": step}) for step in context if step == bpmn_id]
    fills, found = parse_prefill(prefill)
    problems += found
    if fills and not (form and isinstance(forms.get(form), dict)):
        return [*problems, Coded("step.prefill_no_form")]
    own = _properties(forms.get(form)) if form else {}
    for fill in fills:
        target = own.get(fill.target)
        if target is None:
            problems.append(Coded("step.prefill_unknown_target", {"field": fill.target, "form": form}))
            continue
        label = f"{fill.target}[{fill.target_key}]" if fill.target_key else fill.target
        if fill.target_key is not None:
            if _kind(target) != "rows" or fill.target_key not in _items(target):
                problems.append(Coded("step.prefill_unknown_target", {"field": label, "form": form}))
                continue
            target = _items(target)[fill.target_key]
        wanted = _kind(target)
        if fill.source == TODAY:
            if wanted != "date":
                problems.append(Coded("step.prefill_mismatch", {"field": label, "source": TODAY}))
            continue
        if fill.source == GUARDIANS:
            if wanted != "rows" or fill.target_key is not None:
                problems.append(Coded("step.prefill_mismatch", {"field": label, "source": GUARDIANS}))
            continue
        source = f"{fill.step}.{fill.field}" + (f"[{fill.key}]" if fill.key else "")
        step = tasks.get(fill.step) if fill.step is not None else None
        if step is None:
            problems.append(Coded("step.prefill_unknown_step", {"step": fill.step}))
            continue
        read = _properties(forms.get(step.form)).get(str(fill.field)) if step.form else None
        per_row = fill.key is not None or _kind(read) == "list"
        if read is not None and fill.key is not None:
            read = _items(read).get(fill.key) if _kind(read) == "rows" else None
        elif read is not None and per_row:
            read = read.get("items")
        if read is None:
            problems.append(Coded("step.prefill_unknown_field", {"step": fill.step, "field": source}))
            continue
        into_rows = fill.target_key is not None
        if wanted == "list":  # a list of texts (or dates, ...): its items are what must fit
            wanted, into_rows = _kind(target.get("items")), True
        if not _fits(_kind(read), per_row, wanted, into_rows):
            problems.append(Coded("step.prefill_mismatch", {"field": label, "source": source}))
    return problems


def _fits(read: str, per_row: bool, wanted: str, into_rows: bool) -> bool:
    """Whether values of kind `read` (one per row or item when `per_row`) can fill a target of kind
    `wanted` (one key of each row, or each item of a list, when `into_rows`). A text read into rows or a
    list gives its lines."""
    same = read == wanted or (read == "date" and wanted == "text")
    if into_rows:
        return same if per_row else read == "text" and wanted == "text"
    if per_row:
        return wanted == "text" and read in ("text", "date", "number")
    return same


#: A routine's own property: what a pupil's page shows of a running case of it — `STEP.FIELD ...`, each
#: the field's value the last time the step was completed (the adaptations in force, the programme's
#: measures, the next follow-up).
PUPIL_PAGE = "pupilPage"


def pupil_page_fields(value: str) -> list[tuple[str, str]]:
    return [tuple(item.split(".", 1)) for item in value.split() if "." in item]  # type: ignore[misc]


def check_pupil_page(value: str, tasks: dict[str, Any], forms: dict[str, Any]) -> list[Coded]:
    problems = [Coded("step.prefill_form", {"clause": item}) for item in value.split() if "." not in item]
    for step, name in pupil_page_fields(value):
        task = tasks.get(step)
        if task is None:
            problems.append(Coded("step.prefill_unknown_step", {"step": step}))
        elif name not in _properties(forms.get(task.form) if task.form else None):
            problems.append(Coded("step.prefill_unknown_field", {"step": step, "field": f"{step}.{name}"}))
    return problems
