"""The engine object: one per process (or per web app), built once from the settings and passed down.

Every engine function takes it as its first argument, `engine`, and finds there what it needs: the
configuration (`config`, a frozen settings.Config), the database's connections and transactions (`db`),
the per-process caches of parsed process versions (`specs`) and of recently stepped cases (`live`), the
school breaks (`breaks`), the organiser's deadline rules (`deadlines`) and bounds (`bounds`), the clock,
the password hasher, and the sandboxed script engine (`script_engine`) whose evaluation workers
(`pool()`) start on the first evaluation. Nothing below it reads the environment or keeps a module-level
instance; `close()` gives everything back (and runs at exit for an engine nobody closed).
"""
from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from sqlalchemy import select

from . import settings
from .expressions import deadlines, sandbox
from .expressions.bounds import Bounds
from .expressions.holidays import Breaks
from .routines.specs import SpecCache
from .storage.live import LiveCases
from .storage.models import ProcessVersion, SchoolBreak
from .storage.store import Database

if TYPE_CHECKING:  # evalpool is imported when the first pool starts: a worker imports this package too
    from .expressions.evalpool import Pool


def utc_now() -> datetime:
    """The real time, aware UTC (time-machine moves it in tests)."""
    return datetime.now(timezone.utc)


class Engine:
    """What every engine function works with; see the module docstring."""

    def __init__(self, config: settings.Config, *, clock: Callable[[], datetime] = utc_now,
                 workers: Pool | None = None):
        """`workers`: a pool of evaluation workers to use instead of starting one (the tests share one
        among the many engines they make); the engine does not close it."""
        self.config = config
        # A broken deadlines file stops start-up, not a later step.
        self.deadlines = deadlines.load_config(config.deadlines_file, config.max_timer_years) \
            if config.deadlines_file else deadlines.Config()
        self.bounds = Bounds.of(config)
        self.db = Database(config.database_url, synchronous=config.sqlite_synchronous)
        self.specs = SpecCache(config.spec_cache_size, self._version_files)
        self.live = LiveCases(config.live_cases)
        self.breaks = Breaks(self._school_breaks)
        self.clock = clock
        self.hasher = PasswordHasher()
        self.script_engine = sandbox.script_engine(self.pool, self.bounds)
        self._shared = workers
        self._pool: Pool | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None, /, *, workers: Pool | None = None,
                      **more: Any) -> Engine:
        """An engine from the environment's settings, with `overrides` by setting name
        (`Engine.from_settings(database_url=url)`, or create_app's dict)."""
        return cls(settings.load({**(overrides or {}), **more}), workers=workers)

    def pool(self) -> Pool:
        """This engine's evaluation workers, started on first use. A process forked from one that had
        them (gunicorn after loading the app) leaves the parent's alone and starts its own."""
        if self._shared is not None:
            return self._shared
        if self._pool_pid != os.getpid():  # first use, or the first in a forked child
            self._pool_lock = threading.Lock()  # a lock held at the fork would never be released here
            if self._pool is not None:
                self._pool.forget()
            self._pool, self._pool_pid = None, os.getpid()
        with self._pool_lock:
            if self._pool is None:
                from .expressions import evalpool
                self._pool = evalpool.Pool(evalpool.Limits.of(self.config))
                atexit.register(_close_pool, weakref.ref(self))
            return self._pool

    def close_pool(self) -> None:
        """Stop this process's evaluation workers (the next evaluation starts new ones)."""
        with self._pool_lock:
            found, self._pool = (self._pool if self._pool_pid == os.getpid() else None), None
        if found is not None:
            found.close()

    def close(self) -> None:
        """Stop the evaluation workers and close the database's connections."""
        self.close_pool()
        self.db.dispose()

    def _version_files(self, version_id: int) -> tuple[str, dict[str, str], dict[str, Any]] | None:
        """(key, BPMN files, forms) of a deployed version, for the spec cache to parse."""
        with self.db.read() as session:
            row = session.get(ProcessVersion, version_id)
            return (row.key, row.files, row.forms) if row is not None else None

    def _school_breaks(self) -> list[tuple[int | None, str, str]]:
        with self.db.read() as session:
            return [tuple(row) for row in session.execute(  # type: ignore[misc]
                select(SchoolBreak.unit_id, SchoolBreak.first_day, SchoolBreak.last_day))]


def _close_pool(ref: weakref.ref[Engine]) -> None:
    engine = ref()
    if engine is not None:
        engine.close_pool()
