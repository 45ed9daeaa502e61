"""The engine object: one per process (or per web app), built once from the settings and passed down.

Every engine function takes it as its first argument, `engine`, and finds there what it needs: the
configuration (`config`, a frozen settings.Config), the database's connections and transactions (`db`),
the per-process caches of parsed process versions (`specs`) and of recently stepped cases (`live`), the
school breaks (`breaks`), the organiser's deadline rules (`deadlines`), the clock, the password hasher
and the pool of evaluation workers (`pool()`, started on the first evaluation). Nothing below it reads
the environment or keeps a module-level instance; `close()` gives everything back.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select

from . import deadlines, evalpool, settings
from .holidays import Breaks
from .live import LiveCases
from .models import ProcessVersion, SchoolBreak
from .specs import SpecCache
from .store import Database


def utc_now() -> datetime:
    """The real time, aware UTC (time-machine moves it in tests)."""
    return datetime.now(timezone.utc)


class Engine:
    """What every engine function works with; see the module docstring."""

    def __init__(self, config: settings.Config, *, clock: Callable[[], datetime] = utc_now):
        self.config = config
        # A broken deadlines file stops start-up, not a later step.
        self.deadlines = deadlines.load_config(config.deadlines_file) if config.deadlines_file \
            else deadlines.Config()
        self.db = Database(config.database_url, synchronous=config.sqlite_synchronous)
        self.specs = SpecCache(config.spec_cache_size, self._version_files)
        self.live = LiveCases(config.live_cases)
        self.breaks = Breaks(self._school_breaks)
        self.clock = clock
        self.hasher = PasswordHasher()
        self.limits = evalpool.Limits(config.eval_workers, config.eval_cpu_seconds,
                                      config.eval_wall_seconds, config.eval_memory_mb)
        self._pool: evalpool.Pool | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None, /, **more: Any) -> Engine:
        """An engine from the environment's settings, with `overrides` by setting name
        (`Engine.from_settings(database_url=url)`, or create_app's dict)."""
        return cls(settings.load({**(overrides or {}), **more}))

    def pool(self) -> evalpool.Pool:
        """This engine's evaluation workers, started on first use; a process forked from one that had
        them (gunicorn after loading the app) starts its own."""
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                if self._pool is not None:
                    self._pool.forget()
                self._pool, self._pool_pid = evalpool.Pool(self.limits), os.getpid()
            return self._pool

    def close(self) -> None:
        """Stop the evaluation workers and close the database's connections."""
        with self._pool_lock:
            found, self._pool = (self._pool if self._pool_pid == os.getpid() else None), None
        if found is not None:
            found.close()
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
