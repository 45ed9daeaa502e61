"""Where a persisted step's time goes: exclusive time per phase, by wrapping the engine's functions.

Each wrapped function's time counts for its phase minus the time of wrapped functions it calls, so the
phases add up to the step's time; what no wrapper covers is the engine's glue (checks, bookkeeping,
Python between the calls). Used by `benchmarks/engine.py --breakdown`: the wrappers themselves cost
about a microsecond per call, so the timed run is a little slower than the plain one.
"""
from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from sqlalchemy.pool.base import _ConnectionFairy

from elevflow.engine.routines import formcheck
from elevflow.engine.runtime import runner, tasks
from elevflow.engine.storage import audit, dbapi, state

#: (owner, attribute, phase), in the order the table shows them.
WRAPPED = [
    (Task, "run", "SpiffWorkflow"), (BpmnWorkflow, "do_engine_steps", "SpiffWorkflow"),
    (BpmnWorkflow, "__init__", "SpiffWorkflow"),
    (state, "dump", "serialising the state"),
    (dbapi.Tx, "execute", "SQL statements"), (dbapi.Tx, "executemany", "SQL statements"),
    (dbapi.Tx, "first", "SQL statements"), (dbapi.Tx, "all", "SQL statements"),  # their fetch waits
    (dbapi.Tx, "rowcount", "SQL statements"), (dbapi.Tx, "write", "SQL statements"),
    (_ConnectionFairy, "commit", "commit"), (dbapi.Tx, "commit", "commit"),
    (_ConnectionFairy, "_checkout", "connection checkout"),
    (runner, "ready_human_tasks", "tree scans"), (runner, "waiting_timers", "tree scans"),
    (runner.Run, "begin", "tree scans"), (runner.Run, "moved", "tree scans"),
    (runner.Run, "_new_task_row", "new task rows"),
    (tasks, "form_errors", "form validation"), (formcheck, "check_with_case", "form validation"),
    (audit, "_digest", "audit hashing"),
]
#: What a pooled connection forwards to the DB-API connection by __getattr__, spelt out to be wrapped.
FORWARDED = {"commit": lambda fairy: fairy.dbapi_connection.commit()}
PHASES = list(dict.fromkeys(phase for _, _, phase in WRAPPED)) + ["glue (the rest)"]


class Phases:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # per active wrapped call: [time spent in nested wrapped calls]
        self.on = False  # counting only inside the benchmark's clock (`counting`)

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.on = True
        try:
            yield
        finally:
            self.on = False

    def wrap(self, function: Any, phase: str) -> Any:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return function(*args, **kwargs)
            self._stack.append([0.0])
            started = self.clock()
            try:
                return function(*args, **kwargs)
            finally:
                took = self.clock() - started
                nested = self._stack.pop()[0]
                self.spent[phase] += took - nested
                if self._stack:
                    self._stack[-1][0] += took
        return timed

    @contextmanager
    def installed(self) -> Iterator[None]:
        saved = []
        for owner, name, phase in WRAPPED:
            original = owner.__dict__.get(name)  # None: inherited, shadowed here and unshadowed after
            found = next((k.__dict__[name] for k in (owner.__mro__ if isinstance(owner, type) else [owner])
                          if name in k.__dict__), None) or FORWARDED.get(name)
            if found is None:  # not in this version of the engine (an older one, measured for comparison)
                continue
            raw = found.__func__ if isinstance(found, (classmethod, staticmethod)) else found
            wrapped = self.wrap(raw, phase)
            if isinstance(found, classmethod):
                wrapped = classmethod(wrapped)
            setattr(owner, name, wrapped)
            saved.append((owner, name, original))
        try:
            yield
        finally:
            for owner, name, original in reversed(saved):
                if original is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)

    def table(self, total: float, steps: int) -> dict[str, float]:
        """Milliseconds per step for each phase; the glue is the total minus every phase."""
        per_step = {phase: self.spent[phase] * 1000 / steps for phase in PHASES[:-1]}
        per_step["glue (the rest)"] = total * 1000 / steps - sum(per_step.values())
        return per_step
