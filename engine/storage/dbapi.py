"""The step path's statements, run on the bare DB-API connection.

Every user action and every timer runs one step, and a step is a handful of statements and one commit.
Through SQLAlchemy Core each statement costs about 20 µs more Python than on the DB-API cursor (SQLite;
about 90 µs of CPU on PostgreSQL: benchmarks/sql_style.py, docs/engine.md "Data access: which style
where"). So the statements a step runs, and the per-request reads, are written here once, as SQL with
``:name`` parameters, rendered for each driver, with values bound explicitly per dialect. Everything
else (reports, imports, admin) uses SQLAlchemy. Values written here are stored exactly as SQLAlchemy's
column types store them, so either side reads the other's rows (the test suite runs both, on both
databases).
"""
from __future__ import annotations

import gc
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.engine import Engine

from ..errors import ConflictError

#: PostgreSQL's word that a transaction lost a race and trying again would work (deadlock detected,
#: serialization failure). The lock order (runner.py) should make them impossible; if one still comes,
#: the caller gets the conflict it would have got had it lost the race the ordinary way.
RETRYABLE = frozenset({"40P01", "40001"})


class _Collections:
    """Python's cyclic garbage collection, held off while this process holds SQLite's write lock.

    The collector runs at whichever allocation crosses its threshold. A full (generation-2) collection
    walks every tracked object of the process and frees the workflows the live cache has let go (each a
    graph of cycles): 100-160 ms on the 2-core development machine, during which the thread holding the
    lock cannot run, so every other writer of the database waits behind it. That was the longest
    transaction of benchmarks/timers.py (106 ms, one timer step among 10,000). So while any thread of this
    process is inside a SQLite write transaction — from just before the BEGIN IMMEDIATE that takes the
    lock (its own allocations could otherwise start a collection with the lock just taken) to the
    COMMIT or ROLLBACK that releases it — automatic collection is off; the collection that fell due
    meanwhile runs at the first allocation after the last such transaction ended, with no lock held.
    One thread at a time holds SQLite's write lock and a write transaction is short, so collection is
    never off for long (a wait for the lock, at most busy_timeout, counts too). PostgreSQL (row locks,
    several writers at once) is left alone. gc.collect() still works."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._enable_after = False

    @contextmanager
    def held_off(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._enable_after = gc.isenabled()  # an application that turned it off keeps it off
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._enable_after:
                    gc.enable()


#: One per process: gc's switch is process-wide.
collections_held_off = _Collections().held_off


class Sql:
    """One statement, written with :name parameters, rendered for sqlite3 and psycopg."""

    def __init__(self, text: str):
        self.text = " ".join(text.split())
        self.rendered = {"sqlite": self.text, "postgresql": re.sub(r"(?<!:):(\w+)", r"%(\1)s", self.text)}
        self._guarded: dict[tuple[int, int], Sql] = {}

    def guarded(self, count: int, index: int) -> Sql:
        """PostgreSQL: this write, failing unless it touched `count` rows — with an error naming `index`
        (Tx.refusal), raised where the database runs it, so no one has to wait for its row count. The
        failing cast's text depends on the count, so the planner cannot fold it into a constant."""
        found = self._guarded.get((count, index))
        if found is None:
            found = self._guarded[(count, index)] = Sql(
                f"WITH touched AS ({self.text} RETURNING 1) SELECT CASE WHEN count(*) = {count} THEN 0 "
                f"ELSE CAST('{GUARD_PREFIX}{index}:' || count(*) AS integer) END FROM touched")
        return found


GUARD_PREFIX = "elevflow-expected-rows-"
_GUARD_FAILED = re.compile(re.escape(GUARD_PREFIX) + r"(\d+):")


@dataclass
class Stats:
    """How many statements and commits the step path has sent, per Database (benchmarks read it), and
    how many steps of each kind it committed (runner.step counts them)."""

    statements: int = 0
    commits: int = 0
    steps: Counter[str] = field(default_factory=Counter)


class Tx:
    """A write transaction on one pooled DB-API connection.

    `owns_commit`: this Tx's own `transaction` commits it, so `send_together` may hold statements back
    until the commit (a Tx of a snapshot, or on an ORM session's connection, never does)."""

    def __init__(self, raw: Any, dialect: str, stats: Stats | None = None, *, owns_commit: bool = False):
        self.raw = raw
        self.dialect = dialect
        self._cursor: Any = None  # made when first wanted: a pipelined step gives each statement its own
        self.sqlite = dialect == "sqlite"
        self.stats = stats or Stats()
        self.committed: list[Callable[[], None]] = []
        self.owns_commit = owns_commit
        self._pipeline: Any = None  # psycopg's pipeline while `send_together` holds statements
        self._entered: Any = None  # the context manager that gave it
        self._refusals: list[Callable[[], Exception]] = []  # of `expect_rows` checked by the database
        self._nested = 0  # savepoints open
        self._ahead: dict[Sql, tuple[dict[str, Any] | None, Any]] = {}  # reads sent before they are wanted
        self._last_time: tuple[datetime | None, Any] = (None, None)  # the last time bound, and its value

    @property
    def cursor(self) -> Any:
        """The transaction's cursor for statements sent one by one (and for what nobody reads back)."""
        if self._cursor is None:
            self._cursor = self.raw.cursor()
        return self._cursor

    def send_together(self) -> None:
        """From here to the commit, send the statements whose results nobody reads at once: PostgreSQL's
        pipeline mode queues them and sends them with the next statement whose result is read (or
        rowcount asked), and the last of them with the COMMIT — one round trip where each statement was
        one. A statement's error is raised where the queue is next sent, which rolls the whole
        transaction back as before. SQLite has no round trips: nothing changes there."""
        if self.sqlite or not self.owns_commit or self._nested or self._pipeline is not None:
            return
        self._entered = self.raw.driver_connection.pipeline()
        self._pipeline = self._entered.__enter__()

    def expect_rows(self, sql: Sql, params: dict[str, Any], count: int,
                    refused: Callable[[], Exception]) -> None:
        """Run a write (UPDATE, DELETE or INSERT) that must touch exactly `count` rows, else the
        transaction fails with `refused()`. While statements are sent together nothing waits for its
        result: the database checks the count itself (`Sql.guarded`) and fails the transaction, COMMIT
        included, with an error that `refusal` turns back into `refused()`."""
        if self._pipeline is None:
            if self.execute(sql, params).rowcount != count:
                raise refused()
            return
        self.write(sql.guarded(count, len(self._refusals)), params)
        self._refusals.append(refused)

    def refusal(self, exc: BaseException) -> Exception | None:
        """The `refused()` of the `expect_rows` whose check failed the transaction with `exc`, if one did."""
        found = _GUARD_FAILED.search(str(exc)) if getattr(exc, "sqlstate", None) == "22P02" else None
        if found is None or int(found[1]) >= len(self._refusals):
            return None
        return self._refusals[int(found[1])]()

    def commit(self) -> None:
        """Commit; in pipeline mode the COMMIT goes with the statements still queued, and leaving the
        pipeline sends them all (one round trip; a queued statement's error is raised here)."""
        if self._pipeline is None:
            self.raw.commit()
            return
        self.cursor.execute("COMMIT")  # nobody reads its result (the BEGIN's neither): one cursor does
        self.end_together()

    def end_together(self, exc: BaseException | None = None) -> None:
        """Leave pipeline mode (after the commit, or before the rollback)."""
        entered, self._entered, self._pipeline = self._entered, None, None
        if entered is not None:
            entered.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Do `action` once this transaction has committed (never, if it rolls back)."""
        self.committed.append(action)

    # --- running statements ---------------------------------------------------------------------------

    def execute(self, sql: Sql, params: dict[str, Any] | None = None) -> Any:
        self.stats.statements += 1
        # While statements are sent together each gets its own cursor, which its result reaches whenever
        # the queue is sent (one cursor's results would be overwritten by the next statement's).
        cursor = self.cursor if self._pipeline is None else self.raw.cursor()
        cursor.execute(sql.rendered[self.dialect], params or {})
        return cursor

    def write(self, sql: Sql, params: dict[str, Any] | None = None) -> None:
        """Run a statement whose result nobody reads (a write, whose errors still fail the transaction):
        while statements are sent together it takes no cursor of its own, as `execute` must give one."""
        self.stats.statements += 1
        self.cursor.execute(sql.rendered[self.dialect], params or {})

    def executemany(self, sql: Sql, rows: Sequence[dict[str, Any]]) -> None:
        self.stats.statements += 1
        self.cursor.executemany(sql.rendered[self.dialect], rows)

    def first(self, sql: Sql, params: dict[str, Any] | None = None) -> Any:
        """The first row (a tuple of the driver's values), or None. Typed Any: a DB-API row is untyped, and
        a caller that knows the row exists unpacks it at once."""
        return self.execute(sql, params).fetchone()

    def firsts(self, *statements: tuple[Sql, dict[str, Any]]) -> list[tuple | None]:
        """The first row of each statement (None for one without rows). While statements are sent
        together (PostgreSQL), all of them go in one round trip instead of one each."""
        if self._pipeline is None:
            return [self.first(sql, params) for sql, params in statements]
        cursors = [self.execute(sql, params) for sql, params in statements]
        return [cursor.fetchone() for cursor in cursors]

    def ahead(self, sql: Sql, params: dict[str, Any] | None = None) -> None:
        """Send a read now whose rows are wanted later in the transaction (`all` gives them then): while
        statements are sent together it goes with the next round trip, instead of taking one of its own
        when its rows are wanted. Otherwise nothing is gained, and it is read when wanted."""
        if self._pipeline is not None:
            self._ahead[sql] = (params, self.execute(sql, params))

    def all(self, sql: Sql, params: dict[str, Any] | None = None) -> list[tuple]:
        sent = self._ahead.pop(sql, None) if self._ahead else None
        if sent is not None and sent[0] == params:
            return sent[1].fetchall()
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: Sql, params: dict[str, Any] | None = None) -> Any:
        row = self.first(sql, params)
        return row[0] if row is not None else None

    def rowcount(self, sql: Sql, params: dict[str, Any]) -> int:
        cursor = self.execute(sql, params)
        if self._pipeline is not None:
            self._pipeline.sync()
        return cursor.rowcount

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: rolled back alone if the block fails. Statements in it are sent one by
        one (`send_together` waits for the block's end), so a failure inside is rolled back right there."""
        if self._pipeline is not None:
            self.end_together()
        self._nested += 1
        self.cursor.execute("SAVEPOINT step")
        try:
            yield
        except BaseException:
            self.cursor.execute("ROLLBACK TO SAVEPOINT step")
            raise
        finally:
            self._nested -= 1
        self.cursor.execute("RELEASE SAVEPOINT step")

    # --- binding values the way SQLAlchemy's column types store them ---------------------------------

    def uuid(self, value: UUID) -> Any:
        return value.hex if self.sqlite else value

    def read_uuid(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(value)

    def required_time(self, value: Any) -> datetime:
        """A NOT NULL time column's value (read_time for a column that cannot be empty)."""
        read = self.read_time(value)
        assert read is not None, "a NOT NULL time column was empty"
        return read

    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        if value is self._last_time[0]:  # a step binds its `now` several times: formatted once
            return self._last_time[1]
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the engine stores aware UTC times only")
        bound: Any = value
        if self.sqlite:  # SQLAlchemy's SQLite DATETIME text: "YYYY-MM-DD HH:MM:SS.ffffff", in UTC
            utc = value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)
            bound = utc.isoformat(" ", "microseconds")[:26]
        self._last_time = (value, bound)
        return bound

    def read_time(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)

    def json(self, value: Any) -> str | None:
        """A JSON column's value, as text: compact UTF-8 JSON by orjson, read back as json.dumps's would be,
        in a fraction of its time (what users write is plain JSON, checked by jsondata.ensure_json)."""
        return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    def read_json(self, value: Any) -> Any:
        """A JSON column as read: text on SQLite, already decoded by psycopg."""
        return json.loads(value) if isinstance(value, (str, bytes)) else value


@contextmanager
def transaction(engine: Engine, dialect: str, stats: Stats | None = None, raw: Any = None, *,
                together: bool = False) -> Iterator[Tx]:
    """One all-or-nothing write transaction on a pooled connection (SQLite: BEGIN IMMEDIATE, so the
    write lock is taken before anything is read), or on `raw`, a PostgreSQL connection the caller holds
    for snapshots (autocommit is switched off for the transaction and back on after it).

    `together` (an engine step's transaction): on PostgreSQL every statement is sent together with the
    next one whose result is read (`Tx.send_together`, from the start), the BEGIN with the first read; so a
    task completion is its BEGIN and the read that locks case and task, its writes and the audit head's
    lock, and the audit events with the COMMIT — three round trips. psycopg would send a BEGIN of its own
    and wait for it, so the connection is in autocommit mode and the transaction's BEGIN is ours."""
    own = raw is None
    if own:
        raw = engine.raw_connection()
    pipelined = together and dialect != "sqlite"
    if pipelined:
        raw.driver_connection.autocommit = True
    elif not own:
        raw.driver_connection.autocommit = False
    tx = None
    held_off = None
    try:
        tx = Tx(raw, dialect, stats, owns_commit=True)
        if tx.sqlite:  # no collection from the BEGIN that takes the write lock to its release (_Collections)
            held_off = collections_held_off()
            held_off.__enter__()
            tx.cursor.execute("BEGIN IMMEDIATE")
        elif pipelined:
            tx.send_together()
            tx.cursor.execute("BEGIN")
        yield tx
        tx.commit()
        tx.stats.commits += 1
    except BaseException as exc:
        refused = tx.refusal(exc) if tx is not None else None
        if tx is not None:
            tx.end_together(exc)
        raw.rollback()
        if refused is not None:
            raise refused from exc
        if getattr(exc, "sqlstate", None) in RETRYABLE:
            raise ConflictError("conflict.same_moment") from exc
        raise
    finally:
        if held_off is not None:
            held_off.__exit__(None, None, None)
        if own:
            if pipelined:
                try:
                    raw.driver_connection.autocommit = False
                except Exception:  # a broken connection: the pool must not hand it out again
                    raw.invalidate()
            raw.close()
        else:
            raw.driver_connection.autocommit = True
    for action in tx.committed:
        action()


@contextmanager
def snapshot(engine: Engine, dialect: str, stats: Stats | None = None, raw: Any = None) -> Iterator[Tx]:
    """A read-only look on a pooled connection (or on `raw`, a connection the caller holds), no lock
    taken. SQLite: one deferred transaction, so one consistent snapshot. PostgreSQL: autocommit, each
    statement its own snapshot — what READ COMMITTED gives inside a transaction too — without the BEGIN
    and ROLLBACK round trips."""
    own = raw is None
    if own:
        raw = engine.raw_connection()
        reading(raw, dialect)
    tx = Tx(raw, dialect, stats)
    try:
        if tx.sqlite:
            tx.cursor.execute("BEGIN")
        yield tx
    finally:
        if tx.sqlite:
            raw.rollback()
        if own:
            done_reading(raw, dialect)


def reading(raw: Any, dialect: str) -> None:
    """Make a freshly checked-out connection ready for snapshots (PostgreSQL: autocommit)."""
    if dialect != "sqlite":
        raw.driver_connection.autocommit = True


def done_reading(raw: Any, dialect: str) -> None:
    """Give a snapshot connection back to the pool as it came."""
    if dialect != "sqlite":
        raw.driver_connection.autocommit = False
    raw.close()


def within(session: Any, dialect: str, stats: Stats | None = None) -> Tx:
    """A Tx on the connection an ORM session's transaction already holds (it neither begins nor
    commits: the session does), so ORM code can run step-path statements in its own transaction."""
    return Tx(session.connection().connection.dbapi_connection, dialect, stats)
