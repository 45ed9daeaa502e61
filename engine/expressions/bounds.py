"""Bounds on the work a routine can make the engine do outside the sandbox, checked when a routine is
published (elevflow.engine.routines.validation) and again while a case runs.

- Timers, due rules and deadlines: at most ELEVFLOW_MAX_TIMER_YEARS long, and a timer date at most that
  far ahead. SpiffWorkflow counts a duration out month by month, so ``P999999999Y`` would otherwise take
  an hour of date arithmetic.
- BPMN loops and multi-instance tasks: at most ELEVFLOW_MAX_LOOP_ROUNDS rounds or instances. SpiffWorkflow's
  loop and multi-instance specs are given a guard (`install`) that raises before the round over the bound.
- One step of a case: at most ELEVFLOW_MAX_STEP_TASKS automatic tasks and ELEVFLOW_MAX_STEP_SECONDS
  (`StepBudget`), so that a loop of gateways and scripts that never waits for a person (merge, then split
  again) stops; a routine nested or looping too deep for SpiffWorkflow's recursion (`too_deep`) too.
A bound that is met raises LimitError, a WorkflowError: the step rolls back and the case records it.

The four limits travel as one `Bounds` value, made from the engine's configuration (`Bounds.of`) and
handed in: to validation at deploy and publish, to the script engine (which SpiffWorkflow's loop and
multi-instance specs reach through their task's workflow), and to the step's `StepBudget`. Without one,
the settings' defaults apply.
"""
from __future__ import annotations

import ast
import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import settings
from ..codes import Coded
from ..errors import SandboxError, WorkflowError

_DAYS_PER = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
             "seconds": 1 / 86400}


class LimitError(WorkflowError):
    """A case went beyond one of the engine's bounds (a loop's rounds, a step's tasks, a timer's length)."""


@dataclass(frozen=True)
class Bounds:
    """The organiser's bounds: ELEVFLOW_MAX_TIMER_YEARS, _LOOP_ROUNDS, _STEP_TASKS and _STEP_SECONDS."""

    timer_years: int = settings.default("ELEVFLOW_MAX_TIMER_YEARS")
    loop_rounds: int = settings.default("ELEVFLOW_MAX_LOOP_ROUNDS")
    step_tasks: int = settings.default("ELEVFLOW_MAX_STEP_TASKS")
    step_seconds: float = settings.default("ELEVFLOW_MAX_STEP_SECONDS")

    @classmethod
    def of(cls, config: settings.Config) -> Bounds:
        return cls(config.max_timer_years, config.max_loop_rounds, config.max_step_tasks,
                   config.max_step_seconds)


#: The bounds when none are handed in: the settings' defaults.
DEFAULT = Bounds()


def parse_duration(text: str) -> dict[str, Any] | None:
    """An ISO-8601 duration as SpiffWorkflow parses it (a new dict each time: SpiffWorkflow's own date
    arithmetic consumes it), or None if it does not parse."""
    found = _parsed_duration(text)
    return dict(found) if found is not None else None


@functools.lru_cache(maxsize=256)  # the few durations of the deployed routines, parsed for every task
def _parsed_duration(text: str) -> tuple[tuple[str, Any], ...] | None:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    try:
        return tuple(TimerEventDefinition.parse_iso_duration(text).items())
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises a bare Exception; the full parse reports it
        return None


def duration_problem(text: str, what: str = "what.a_timer", years: int = DEFAULT.timer_years) -> Coded | None:
    """Why the ISO-8601 duration `text` is longer than `years`, or None (also None if it does not parse)."""
    parsed = parse_duration(text.strip())
    if parsed is None:
        return None
    days = sum(float(value) * _DAYS_PER.get(unit, 0) for unit, value in parsed.items())
    if days > years * 366:
        return Coded("timer.too_long", {"value": text.strip(), "what": Coded(what), "years": years})
    return None


def timer_value_problem(value: str, years: int = DEFAULT.timer_years) -> Coded | None:
    """Why a timer value (a duration, a date or a cycle) reaches too far, or None. Checked before
    SpiffWorkflow computes anything from it."""
    parts = value.strip().split("/")
    if parts[0][:1].upper() == "R":
        parts = parts[1:]
    for part in parts:
        if part[:1].upper() == "P":
            problem = duration_problem(part, years=years)
        else:
            problem = date_problem(part, years)
        if problem:
            return problem
    return None


def date_problem(text: str, years: int = DEFAULT.timer_years) -> Coded | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment > datetime.now(timezone.utc) + timedelta(days=years * 366):
        return Coded("timer.too_far", {"value": text.strip(), "years": years})
    return None


#: The monotonic time by which the running step must be done (None outside a step).
STEP_DEADLINE: ContextVar[float | None] = ContextVar("elevflow_step_deadline", default=None)


class StepBudget:
    """Counts the automatic tasks of one step and its time (SpiffWorkflow's `will_complete_task` callback).

    Both are needed: SpiffWorkflow's work per task grows with the depth of the case's task tree (a join
    looks through every task's ancestors), so a few hundred rounds of a loop already take seconds."""

    def __init__(self, bounds: Bounds = DEFAULT) -> None:
        self.bounds = bounds
        self.left = bounds.step_tasks
        self.deadline = time.monotonic() + bounds.step_seconds

    @contextmanager
    def running(self) -> Iterator[None]:
        """While the step runs, no evaluation waits past its deadline (engine.expressions.evalpool reads
        it)."""
        token = STEP_DEADLINE.set(self.deadline)
        try:
            yield
        finally:
            STEP_DEADLINE.reset(token)

    def __call__(self, task: Any) -> None:
        self.left -= 1
        spec = task.task_spec
        if time.monotonic() > self.deadline:
            limit = self.bounds.step_seconds
            raise LimitError("limit.step_seconds", limit=f"{limit:g}",
                             step=str(spec.bpmn_name or spec.bpmn_id),
                             element_id=getattr(spec, "bpmn_id", None))
        if self.left < 0:
            limit = self.bounds.step_tasks
            raise LimitError("limit.step_tasks", limit=limit,
                             step=str(spec.bpmn_name or spec.bpmn_id),
                             element_id=getattr(spec, "bpmn_id", None))


def too_deep(element: str | None = None) -> LimitError:
    """The error for a RecursionError in SpiffWorkflow: a case's task tree too deep to follow."""
    return LimitError("limit.too_deep", element_id=element)


def _rounds(my_task: Any) -> int:
    """The loop bound of the engine running `my_task` (its workflow's script engine carries it)."""
    return getattr(my_task.workflow.script_engine, "bounds", DEFAULT).loop_rounds


def _rounds_error(spec: Any, what: Coded, limit: int) -> LimitError:
    return LimitError("limit.rounds", element_id=spec.bpmn_id, step=str(spec.bpmn_name or spec.bpmn_id),
                      limit=limit, what=what)


def _guard_standard_loop(original: Any) -> Any:
    def create_child(self: Any, my_task: Any) -> Any:
        if len(my_task.internal_data.get("merged", [])) >= (limit := _rounds(my_task)):
            raise _rounds_error(self, Coded("what.loop_rounds"), limit)
        return original(self, my_task)
    create_child.elevflow_bounded = True  # type: ignore[attr-defined]
    return create_child


def _guard_multi_instance(original: Any) -> Any:
    def create_child(self: Any, my_task: Any, *args: Any, **kwargs: Any) -> Any:
        if len(my_task.children) >= (limit := _rounds(my_task)):
            raise _rounds_error(self, Coded("what.instances"), limit)
        return original(self, my_task, *args, **kwargs)
    create_child.elevflow_bounded = True  # type: ignore[attr-defined]
    return create_child


def install() -> None:
    """Give SpiffWorkflow's loop and multi-instance task specs their round bound (once per process)."""
    from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
    if not getattr(StandardLoopTask.create_child, "elevflow_bounded", False):
        StandardLoopTask.create_child = _guard_standard_loop(StandardLoopTask.create_child)
    if not getattr(MultiInstanceTask.create_child, "elevflow_bounded", False):
        MultiInstanceTask.create_child = _guard_multi_instance(MultiInstanceTask.create_child)


def check_cardinality(value: Any, spec: Any, limit: int = DEFAULT.loop_rounds) -> None:
    """Refuse a multi-instance cardinality that is no whole number or over the bound (before SpiffWorkflow
    makes `range(value)` of it)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WorkflowError(f"the number of instances of {spec.bpmn_name or spec.bpmn_id} must be a whole "
                            f"number, 0 or more, not {value!r}", element_id=spec.bpmn_id)
    if value > limit:
        raise _rounds_error(spec, Coded("what.instances_asked", {"value": value}), limit)


# --- deploy time: values a diagram fixes (SandboxError, reported by engine.routines.validation at the
# element) ---

def loop_maximum(source: str, limit: int = DEFAULT.loop_rounds) -> None:
    try:
        value = int(source)
    except ValueError:
        raise SandboxError("loop.maximum_not_whole", value=source) from None
    if value > limit:
        raise SandboxError("loop.maximum_too_many", limit=limit, value=value)


def cardinality(source: str, limit: int = DEFAULT.loop_rounds) -> None:
    try:
        value = ast.literal_eval(source.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return  # computed from the case's data: bounded when it runs
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SandboxError("loop.cardinality_not_whole", value=repr(value))
    if value > limit:
        raise SandboxError("loop.cardinality_too_many", limit=limit, value=value)
