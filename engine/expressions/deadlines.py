"""Due rules: when a user task is due, as data on the task (``dueRule``), never as code.

A rule is an ISO-8601 duration in calendar time (``P1W``, ``P3D``, ``PT24H``) or ``<n>BD`` for n business
days (weekends and the holiday calendar skipped). The clock starts when the task is created, or at the
date held in the task-data key the task's ``dueFrom`` names.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..codes import Coded
from ..errors import ElevflowError
from . import bounds
from .helpers import add_business_days

_BUSINESS_DAYS = re.compile(r"^\s*(\d{1,3})\s*BD\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*P(?=\d|T\d)[0-9WYMDTHS.,]*\s*$")


def check(rule: str, years: int = bounds.DEFAULT.timer_years) -> Coded | None:
    """Why `rule` is not a valid due rule (or one longer than `years`), or None when it is."""
    if _BUSINESS_DAYS.match(rule):
        return None
    if _DURATION.match(rule):
        try:
            TimerEventDefinition.parse_iso_duration(rule.strip())
            return bounds.duration_problem(rule, "what.a_due_rule", years)
        except Exception:  # SpiffWorkflow raises a bare Exception here
            pass
    return Coded("due.bad_rule", {"rule": rule})


def due_at(rule: str, start: datetime, also_off: Callable[[date], bool] | None = None,
           years: int = bounds.DEFAULT.timer_years) -> datetime:
    """When a task under `rule` whose clock started at `start` is due; business days skip weekends,
    public holidays and, through `also_off`, the unit's school breaks."""
    match = _BUSINESS_DAYS.match(rule)
    if match:
        day = add_business_days(start.date(), int(match.group(1)), also_off)
        return datetime.combine(day, start.timetz())
    return start + _delta(rule, start, years)


def _delta(rule: str, start: datetime, years: int = bounds.DEFAULT.timer_years) -> timedelta:
    """A duration rule from `start` on, refused (LimitError) when longer than the organiser allows: the
    rule was checked when deployed, but the organiser may have lowered the bound since."""
    problem = bounds.duration_problem(rule, "what.a_due_rule", years)
    if problem:
        raise bounds.LimitError(problem)
    parsed = bounds.parse_duration(rule.strip())
    if parsed is None:  # checked at deploy; SpiffWorkflow's own error if it still does not parse
        parsed = TimerEventDefinition.parse_iso_duration(rule.strip())
    return TimerEventDefinition.get_timedelta_from_start(parsed, start)


#: School time: a date deadline ends at the end of its day here (DAY_ENDS), not at midnight UTC.
SCHOOL_TIME = ZoneInfo("Europe/Stockholm")
DAY_ENDS = time(23, 59)


def due_from(rule: str, value: object, now: datetime, also_off: Callable[[date], bool] | None = None,
             years: int = bounds.DEFAULT.timer_years) -> datetime:
    """When a task under `rule` is due, its clock started by a `dueFrom` value (or, without one, `now`).
    Counted from a plain date, the deadline is a date too: it ends at 23:59 Swedish time of its day, so a
    task due today is not late before the day is over."""
    due = due_at(rule, clock_start(value, now), also_off, years)
    if is_date(value):
        due = datetime.combine(due.date(), DAY_ENDS, tzinfo=SCHOOL_TIME).astimezone(timezone.utc)
    return due


def is_date(value: object) -> bool:
    """Whether a `dueFrom` value is a plain ISO date (not a moment)."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


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


@dataclass(frozen=True)
class Policy:
    """When to remind before a task is due, and when to escalate after: each an offset (a due rule)."""

    remind_before: str = "2BD"
    escalate_after: str = "1BD"  # to the unit's rektor
    escalate_to_huvudman_after: str = "5BD"


POLICY_KEYS = {"remind_before", "escalate_after", "escalate_to_huvudman_after"}


@dataclass(frozen=True)
class Config:
    """An organiser's deadline file: due-rule overrides per (routine, task) and the notice policy."""

    overrides: dict[tuple[str, str], str] = field(default_factory=dict)
    policies: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)  # (), (routine,), (r, task)

    def policy(self, routine: str, task_id: str) -> Policy:
        merged: dict[str, str] = {}
        for key in ((), (routine,), (routine, task_id)):
            merged.update(self.policies.get(key, {}))
        return Policy(**merged)


def load_config(path: str | Path, years: int = bounds.DEFAULT.timer_years) -> Config:
    """Read and check an organiser's deadline file (see docs/operations.md); no rule may be longer than
    `years` (ELEVFLOW_MAX_TIMER_YEARS)."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ElevflowError(f"deadlines file {path}: {exc}") from None
    overrides: dict[tuple[str, str], str] = {}
    policies: dict[tuple[str, ...], dict[str, str]] = {}

    def rule(where: str, value: object) -> str:
        why = check(value, years) if isinstance(value, str) else "a rule must be a string"
        if why:
            raise ElevflowError(f"deadlines file {path}: {where}: {why}")
        return value  # type: ignore[return-value]

    def policy(where: tuple[str, ...], table: dict) -> None:
        own = {}
        for key, value in table.items():
            if isinstance(value, dict) and len(where) < 2:
                policy((*where, key), value)
            elif key in POLICY_KEYS:
                own[key] = rule(".".join(("policy", *where, key)), value)
            else:
                raise ElevflowError(f"deadlines file {path}: policy.{'.'.join((*where, key))} is not one of "
                                    f"{', '.join(sorted(POLICY_KEYS))}")
        policies[where] = own

    for routine, tasks in raw.items():
        if not isinstance(tasks, dict):
            raise ElevflowError(f"deadlines file {path}: [{routine}] must be a table of task id = rule")
        if routine == "policy":
            policy((), tasks)
            continue
        for task_id, value in tasks.items():
            overrides[(routine, task_id)] = rule(f"{routine}.{task_id}", value)
    return Config(overrides, policies)


def load_overrides(path: str | Path) -> dict[tuple[str, str], str]:
    """The due-rule overrides of a deadline file: {(routine, task id): rule}."""
    return load_config(path).overrides


def rule_for(rules: Config, routine: str, task_id: str, diagram_rule: str | None) -> str | None:
    """The due rule in force under `rules` (the engine's, from ELEVFLOW_DEADLINES_FILE): the organiser's
    override if it has one, else the diagram's."""
    return rules.overrides.get((routine, task_id), diagram_rule)


def offset(moment: datetime, rule: str, sign: int,
           also_off: Callable[[date], bool] | None = None) -> datetime:
    """`moment` moved by a rule, forwards (sign 1) or backwards (sign -1)."""
    match = _BUSINESS_DAYS.match(rule)
    if match:
        day = add_business_days(moment.date(), sign * int(match.group(1)), also_off)
        return datetime.combine(day, moment.timetz())
    return moment + sign * _delta(rule, moment)


def first_notice(rules: Config, due: datetime | None, routine: str, task_id: str, now: datetime,
                 also_off: Callable[[date], bool] | None = None) -> datetime | None:
    """When a new task's first notice (the reminder) falls due: `remind_before` its due time."""
    if due is None:
        return None
    return max(now, offset(due, rules.policy(routine, task_id).remind_before, -1, also_off))
