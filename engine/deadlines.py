"""Due rules: when a user task is due, as data on the task (``dueRule``), never as code.

A rule is an ISO-8601 duration in calendar time (``P1W``, ``P3D``, ``PT24H``) or ``<n>BD`` for n business
days (weekends and the holiday calendar skipped). The clock starts when the task is created, or at the
date held in the task-data key the task's ``dueFrom`` names.
"""
from __future__ import annotations

import functools
import re
import tomllib
from datetime import date, datetime, time, timezone
from pathlib import Path

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import settings
from .errors import ElevflowError
from .helpers import business_days_add

_BUSINESS_DAYS = re.compile(r"^\s*(\d{1,3})\s*BD\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*P(?=\d|T\d)[0-9WYMDTHS.,]*\s*$")


def check(rule: str) -> str | None:
    """Why `rule` is not a valid due rule, or None when it is."""
    if _BUSINESS_DAYS.match(rule):
        return None
    if _DURATION.match(rule):
        try:
            TimerEventDefinition.parse_iso_duration(rule.strip())
            return None
        except Exception:  # SpiffWorkflow raises a bare Exception here
            pass
    return (f"due rule {rule!r} is neither an ISO-8601 duration (P1W, P3D, PT24H) "
            "nor a number of business days (5BD)")


def due_at(rule: str, start: datetime) -> datetime:
    """When a task under `rule` whose clock started at `start` is due."""
    match = _BUSINESS_DAYS.match(rule)
    if match:
        day = date.fromisoformat(business_days_add(start.date().isoformat(), int(match.group(1))))
        return datetime.combine(day, start.timetz())
    parsed = TimerEventDefinition.parse_iso_duration(rule.strip())
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def clock_start(value: object, fallback: datetime) -> datetime:
    """The moment a `dueFrom` value (an ISO date or datetime string) stands for; `fallback` if none."""
    if not isinstance(value, str) or not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return fallback
    if len(value) == 10:  # a plain date: count from the start of that day, school time being Swedish
        parsed = datetime.combine(parsed.date(), time(0, 0), tzinfo=timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def load_overrides(path: str | Path) -> dict[tuple[str, str], str]:
    """Read an organiser's deadline file: {(routine, task id): rule}; every rule is checked."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ElevflowError(f"deadlines file {path}: {exc}") from None
    overrides = {}
    for routine, tasks in raw.items():
        if not isinstance(tasks, dict):
            raise ElevflowError(f"deadlines file {path}: [{routine}] must be a table of task id = rule")
        for task_id, rule in tasks.items():
            why = check(rule) if isinstance(rule, str) else "a rule must be a string"
            if why:
                raise ElevflowError(f"deadlines file {path}: {routine}.{task_id}: {why}")
            overrides[(routine, task_id)] = rule
    return overrides


@functools.cache
def _configured(path: str) -> dict[tuple[str, str], str]:
    return load_overrides(path) if path else {}


def rule_for(routine: str, task_id: str, diagram_rule: str | None) -> str | None:
    """The due rule in force: the organiser's override if it has one, else the diagram's."""
    return _configured(settings.get("ELEVFLOW_DEADLINES_FILE")).get((routine, task_id), diagram_rule)
