"""Checking submitted form data in the engine: the form's JSON Schema, and what JSON Schema alone misses.

Every caller — the web app, the command line, the API — goes through these checks, so a form cannot be
satisfied by typing around the web page:

- A **required text holds more than whitespace**: `required` is extended so that a required property whose
  value is a string of only spaces, tabs or line breaks counts as missing (also in nested objects and in
  the `then` of an `if`).
- **`format: date-time` is enforced** (RFC 3339: a date, "T", a time and its UTC offset); jsonschema on
  its own checks it only when an optional package is installed.
- **Date order is routine data**, declared on a `date` or `date-time` field of the form:
  `dateAfter`, `dateNotBefore`, `dateBefore`, `dateNotAfter`, each a list of references. A reference is
  `"today"` (the school's local date, Europe/Stockholm, when the form is sent) or a data key, looked up in
  the same object of the form, then the form's top level, then the case's data as it stands before the
  step. A reference with no date yet is not compared (a required field says whether it must exist).
  Example: a decision date `"dateNotAfter": ["today"], "dateBefore": ["uppfoljning_datum"]`.
- **Conditions on the case's data**: a form's top-level `caseConditions` is a list of `{"if": <schema>,
  "then": <schema>}`. When the case's data with the submitted data over it matches `if`, the submitted
  data must also match `then` (e.g. a field becomes required because of what an earlier step recorded).
  JSON Schema's own `if`/`then` sees only the form's own fields.

`check_with_case` runs the last two, which need the case's data; the engine calls it inside the step.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, SchemaError, ValidationError, validators

from ..codes import Coded

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TODAY = "today"
#: rule -> (English wording, whether the field's date must compare so with the reference's)
DATE_RULES: dict[str, tuple[str, Any]] = {
    "dateAfter": ("after", lambda mine, other: mine > other),
    "dateNotBefore": ("on or after", lambda mine, other: mine >= other),
    "dateBefore": ("before", lambda mine, other: mine < other),
    "dateNotAfter": ("on or before", lambda mine, other: mine <= other),
}
DATE_FORMATS = ("date", "date-time")


BLANK = "notBlank"  # the `validator` of the error for a required text of only whitespace


def blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _required(validator: Any, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"{name!r} is a required property")
        elif blank(instance[name]):
            yield ValidationError(f"{name!r} is required and may not be blank", path=[name], validator=BLANK)


FORMAT_CHECKER = copy.deepcopy(Draft202012Validator.FORMAT_CHECKER)


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if len(value) < 16 or value[10] not in "Tt ":
        raise ValueError(f"{value!r} is not a date and time (RFC 3339)")
    if datetime.fromisoformat(value.replace("z", "Z")).tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return True


FormValidator = validators.extend(Draft202012Validator, {"required": _required})


def validator(schema: dict[str, Any]) -> Any:
    """The engine's validator for a form (the web app and the engine use the same one)."""
    return FormValidator(schema, format_checker=FORMAT_CHECKER)


def schema_errors(form_validator: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """Per-field messages for data that does not match its form, keyed by dotted field path (a missing
    required field under its own path)."""
    errors: dict[str, list[str]] = {}
    for error in form_validator.iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required" and error.message.endswith("is a required property"):
            missing = error.message.split("'")[1] if "'" in error.message else ""
            errors.setdefault(".".join(p for p in (path, missing) if p), []).append("required")
            continue
        errors.setdefault(path, []).append(error.message)
    return errors


# --- date order -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DateProblem:
    """A date that breaks a rule of its form: `path` is the field, `reference` what it was compared with."""

    path: str
    rule: str
    reference: str
    other: date

    @property
    def message(self) -> str:
        said = "today" if self.reference == TODAY else self.reference
        return f"must be {DATE_RULES[self.rule][0]} {said} ({self.other.isoformat()})"


def as_date(value: Any) -> date | None:
    """A form's date or date-time value as the school's local date; None if it is neither."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return moment.astimezone(STOCKHOLM).date() if moment.tzinfo else moment.date()


def local_today(now: datetime) -> date:
    return now.astimezone(STOCKHOLM).date()


def date_problems(schema: dict[str, Any], data: dict[str, Any], known: Mapping[str, Any],
                  today: date) -> list[DateProblem]:
    """Every date of `data` that breaks a date rule its form declares."""
    found: list[DateProblem] = []
    _walk(schema, data, data, known, today, "", found)
    return found


def check_with_case(schema: dict[str, Any], data: dict[str, Any], known: Mapping[str, Any],
                    today: date) -> tuple[dict[str, list[str]], list[DateProblem]]:
    """The form's date rules and case conditions against the case's data: (errors, date problems)."""
    problems = date_problems(schema, data, known, today)
    errors = problem_errors(problems)
    merged = {**known, **data}
    for condition in schema.get("caseConditions") or ():
        if Draft202012Validator(condition["if"]).is_valid(merged):
            for path, messages in schema_errors(validator(condition["then"]), data).items():
                errors.setdefault(path, []).extend(messages)
    return errors, problems


def problem_errors(problems: list[DateProblem]) -> dict[str, list[str]]:
    """The problems as FormValidationError's field path -> messages."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.path, []).append(problem.message)
    return errors


def _walk(schema: Any, value: Any, top: dict[str, Any], known: Mapping[str, Any], today: date, path: str,
          found: list[DateProblem]) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value:
                continue
            where = f"{path}.{key}" if path else key
            if isinstance(sub, dict) and any(rule in sub for rule in DATE_RULES):
                _compare(sub, value[key], value, top, known, today, where, found)
            _walk(sub, value[key], top, known, today, where, found)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _walk(schema["items"], item, top, known, today, f"{path}.{i}" if path else str(i), found)


def _compare(sub: dict[str, Any], value: Any, here: dict[str, Any], top: dict[str, Any],
             known: Mapping[str, Any], today: date, path: str, found: list[DateProblem]) -> None:
    mine = as_date(value)
    if mine is None:
        return  # the format check names it
    for rule, (_, holds) in DATE_RULES.items():
        for reference in sub.get(rule) or ():
            other: date | None
            if reference == TODAY:
                other = today
            else:
                source = next((d for d in (here, top, known) if reference in d), {})
                other = as_date(source.get(reference))
            if other is not None and not holds(mine, other):
                found.append(DateProblem(path, rule, reference, other))


def rule_problems(schema: Any, where: str = "") -> list[Coded]:
    """What is wrong with a form's date rules and case conditions (for deploy)."""
    problems: list[Coded] = []
    if not isinstance(schema, dict):
        return problems
    conditions = schema.get("caseConditions", []) if not where else []
    if not isinstance(conditions, list) or not all(
            isinstance(c, dict) and set(c) == {"if", "then"} and all(isinstance(c[k], dict) for k in c)
            for c in conditions):
        problems.append(Coded("form.case_conditions"))
    else:
        for condition in conditions:
            for part in ("if", "then"):
                try:
                    Draft202012Validator.check_schema(condition[part])
                except SchemaError as exc:
                    problems.append(Coded("form.case_condition_schema",
                                          {"part": part, "detail": exc.message}))
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        field = f"{where}.{key}" if where else key
        for rule in DATE_RULES:
            if rule not in sub:
                continue
            refs = sub[rule]
            if sub.get("format") not in DATE_FORMATS:
                problems.append(Coded("form.date_rule_format", {"field": field, "rule": rule}))
            if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r for r in refs):
                problems.append(Coded("form.date_rule_references", {"field": field, "rule": rule}))
        problems += rule_problems(sub, field)
        if isinstance(sub.get("items"), dict):
            problems += rule_problems(sub["items"], field)
    return problems
