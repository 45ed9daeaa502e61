"""The database handle: connections and transactions, nothing else (engine.core.Engine holds the rest).

Write transactions are short and take the write lock up front, so two writers never both read and then
collide: ``BEGIN IMMEDIATE`` on SQLite (which allows one writer at a time anyway), an ordinary
transaction on PostgreSQL where row locks and optimistic version checks decide races.
"""
from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from . import dbapi
from .dbapi import Tx


def _sqlite_engine(url: str, *, immediate: bool, synchronous: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


#: A pooled PostgreSQL connection used less than this many seconds ago is handed out without a liveness
#: ping, unless its socket shows the server said something (`_postgres_engine`).
PING_AFTER_IDLE = 1.0
_ALIVE = "elevflow_alive"  # in a pool record's info: when its connection last worked (time.monotonic)


def _postgres_engine(url: str) -> Engine:
    """PostgreSQL's engine, whose pool pings a connection before handing it out only when the ping can
    tell something. SQLAlchemy's `pool_pre_ping` costs a round trip at every checkout (a step's fifth of
    them, on a completion). A server that closes a connection — restarted, a terminated backend, an idle
    timeout — sends its reason and end of stream, so the socket of a connection that sat in the pool
    shows something to read: such a connection is pinged, and replaced if the ping fails (the pool then
    connects anew, as with `pool_pre_ping`). What no socket shows is a peer gone silent (a host lost,
    a failover whose new host answers only when spoken to); a ping catches it, and is sent to every
    connection idle for PING_AFTER_IDLE or more. One used within that second is no likelier to have
    been lost than during the step that follows a ping, so it is not pinged. A connection that fails in
    use is never handed out again either way: psycopg marks it broken, and the pool's reset on its
    return (a ROLLBACK, which on a healthy idle connection psycopg skips without a round trip) fails
    on it, and the pool discards it."""
    engine = create_engine(url)
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_ALIVE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:  # None: invalidated on its way back
            record.info[_ALIVE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        alive = record.info.get(_ALIVE)
        if alive is not None and time.monotonic() - alive < PING_AFTER_IDLE and _quiet(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the pooled connection failed its ping: {exc}") from exc

    return engine


def _quiet(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection's socket has nothing to read (no word from the server). Any
    doubt — no socket, a broken connection — is not quiet: the ping then decides."""
    try:
        if dbapi_connection.closed:
            return False
        poller = select.poll()  # not select.select: it refuses descriptors above 1023
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return not poller.poll(0)
    except Exception:  # noqa: BLE001 - psycopg's "connection lost" as well as OSError
        return False


class _Scope:
    """The connection a `Database.reads()` scope shares, and whether a look is using it right now."""

    def __init__(self) -> None:
        self.raw: Any = None
        self.busy = False

    @contextmanager
    def using(self, db: Database) -> Iterator[Any]:
        if self.raw is None:
            self.raw = db.engine.raw_connection()
            dbapi.reading(self.raw, db.dialect)
        self.busy = True
        try:
            yield self.raw
        finally:
            self.busy = False


class Database:
    """One database: its SQLAlchemy engines, session factories and statement counts. `synchronous` is
    SQLite's synchronous pragma (the setting ELEVFLOW_SQLITE_SYNCHRONOUS)."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL"):
        self.url = url
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(self.url, immediate=False, synchronous=synchronous)
            self.write_engine = _sqlite_engine(self.url, immediate=True, synchronous=synchronous)
        else:
            self.engine = _postgres_engine(self.url)
            self.write_engine = self.engine
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self.stats = dbapi.Stats()
        self._reads: ContextVar[_Scope | None] = ContextVar(f"elevflow_reads_{id(self)}", default=None)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One all-or-nothing transaction that may write: commits at the end, rolls back on any error.
        On SQLite no garbage collection runs meanwhile (dbapi._Collections), the commit's flush included."""
        if self.dialect != "sqlite":
            with self._write_sessions() as session, session.begin():
                yield session
            return
        with dbapi.collections_held_off(), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def transaction(self, *, together: bool = False) -> Iterator[Tx]:
        """One all-or-nothing write transaction on the bare DB-API connection: every engine step runs
        in one (see dbapi.py for why), `together` (dbapi.transaction). Inside `reads()` on PostgreSQL it
        runs on the scope's connection."""
        scope = self._reads.get()
        if scope is None or self.dialect == "sqlite" or scope.busy:  # SQLite writes on its own engine
            with dbapi.transaction(self.write_engine, self.dialect, self.stats, together=together) as tx:
                yield tx
            return
        with scope.using(self) as raw, \
                dbapi.transaction(self.write_engine, self.dialect, self.stats, raw, together=together) as tx:
            yield tx

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        """A read-only look on the bare DB-API connection (the web's per-request reads use it: much
        cheaper than an ORM session). Inside `reads()`, every snapshot shares that scope's connection."""
        scope = self._reads.get()
        if scope is None or scope.busy:
            with dbapi.snapshot(self.engine, self.dialect, self.stats) as tx:
                yield tx
            return
        with scope.using(self) as raw, dbapi.snapshot(self.engine, self.dialect, self.stats, raw) as tx:
            yield tx

    @contextmanager
    def reads(self) -> Iterator[None]:
        """A scope (a web request, say) whose snapshots — and, on PostgreSQL, write transactions — share
        one pooled connection, checked out at the first and given back at the end: one checkout (and, on
        PostgreSQL, one liveness ping) per scope instead of one per look. A look begun while another is
        still open on it takes a connection of its own."""
        scope = _Scope()
        token = self._reads.set(scope)
        try:
            yield
        finally:
            self._reads.reset(token)
            if scope.raw is not None:
                dbapi.done_reading(scope.raw, self.dialect)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only look at the database."""
        with self._read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
