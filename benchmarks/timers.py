"""Timer benchmark: firing 10,000 due timers among 100,000 open cases and 1,000,000 closed tasks.

10,000 real cases wait in a task with a one-second boundary timer (benchmarks/fixtures/paminnelse); the
other 90,000 open cases (bulk rows, see bulk.py) wait on timers hours away; 1,000,000 closed task rows of
200,000 ended cases (and 100,000 sent e-mails) stand for years of history. Then it measures
  - the time to fire all due timers (each firing loads its case, runs the escalation and saves it),
  - the cost of one scheduler scan when nothing is due (timers alone, and a whole scheduler round:
    timers, deadline notices, digests, e-mail), p50 and p95 over repeated scans,
  - the rounds that catch up with the notices of the tasks the escalations opened (opened with their
    deadline near, each goes on to its escalation date without a reminder),
  - a round that queues the daily digest for 50 users,
  - the longest background transaction of all of the above: on SQLite, how long the write lock was
    held, which every user's step waits behind — from the BEGIN IMMEDIATE that takes it to the moment
    a second connection can take it (LockProbe: SQLite's WAL auto-checkpoint runs in the COMMIT call
    after the release and is shown apart); on PostgreSQL, from BEGIN to COMMIT.
On SQLite, and on PostgreSQL when ELEVFLOW_BENCH_POSTGRES_URL (or the local default) answers.
Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/timers.py [--due N] [--open N] [--closed N]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import mmap
import re
import sqlite3
import statistics
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import POSTGRES_URL, fill_closed_tasks, fill_open_cases, fresh_postgres  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from elevflow.engine import Database, Engine, deploy_path, start_case, upgrade  # noqa: E402  # noqa: E402
from elevflow.engine.org import records as org  # noqa: E402  # noqa: E402
from elevflow.engine.runtime import runner, scheduler, timers  # noqa: E402  # noqa: E402
from elevflow.engine.storage.dbapi import Sql  # noqa: E402
from elevflow.engine.storage.models import Timer, User  # noqa: E402
from elevflow.engine.work import digest, mailer, notices  # noqa: E402  # noqa: E402

DIGEST_USERS = 50
#: A plan step that reads a whole table which grows with history (SQLite: "SCAN tasks", not "SCAN tasks
#: USING INDEX ..." nor a scan of a subquery's rows; PostgreSQL: a sequential scan).
HISTORY_SCAN = {"sqlite": re.compile(r"\bSCAN (tasks|timers|outgoing_emails|t)\b(?! USING)"),
                "postgresql": re.compile(r"Seq Scan on (tasks|timers|outgoing_emails)\b")}


class LockProbe:
    """When SQLite's write lock is released, as another connection sees it.

    A COMMIT call can return long after the lock was released: when the WAL holds 1,000 pages or more
    (wal_autocheckpoint), the committing connection checkpoints it after releasing the lock, inside the
    same call, and a checkpoint does not block writers — that time is not the lock's. So when a COMMIT
    may run a checkpoint (the WAL, read from the WAL-index header in the -shm file,
    https://sqlite.org/walformat.html, is within reach of the threshold: twice the most pages one of
    the last 100 COMMITs wrote), a second connection in a thread of its own tries BEGIN IMMEDIATE (no
    busy wait) from the moment the COMMIT is sent until it gets the lock, and lets it go: the moment
    it got it is the moment the lock was released. Other COMMITs cannot run a checkpoint; their return
    is the release (not probed: waking a thread adds 0.1-0.2 ms, which would show in the idle rounds'
    timings). A checkpoint run by a COMMIT that was not probed is counted in `unprobed` (its time is
    then counted as the lock's: an upper bound)."""

    #: Between two tries. A probe that never let go of the GIL would hold the COMMIT back for up to
    #: Python's switch interval (5 ms) each time the committing thread wanted the GIL between its
    #: calls into SQLite.
    PAUSE = 0.0001

    def __init__(self, path: str):
        self._path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        self.threshold = self._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        self._shm: mmap.mmap | None = None
        self._go, self._done = threading.Event(), threading.Event()
        self._free_at = 0.0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="lock-probe", daemon=True)
        self._thread.start()
        self.probed = self.checkpoints = self.unprobed = 0
        self._written: deque[int] = deque([0], maxlen=100)  # pages of the last COMMITs
        self.checkpoint_tail: list[float] = []  # of COMMIT calls that ran one: seconds after the release

    def _run(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            if self._closing:
                return
            while True:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError:  # "database is locked": still held
                    time.sleep(self.PAUSE)  # lets the committing thread have the GIL back at once
                    continue
                self._free_at = time.perf_counter()
                self._conn.execute("ROLLBACK")
                break
            self._done.set()

    def _wal(self) -> tuple[int, int]:
        """(mxFrame, nBackfill): the WAL's valid frames and how many of them are checkpointed."""
        if self._shm is None:
            with open(self._path + "-shm", "rb") as f:
                self._shm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return struct.unpack_from("=I", self._shm, 16)[0], struct.unpack_from("=I", self._shm, 96)[0]

    def released(self, commit) -> float:
        """Run `commit` (it releases the write lock this process holds) and return when the lock was
        free (if probed, after the probe has let it go again)."""
        frames, backfilled = self._wal()
        probe = frames + 2 * max(self._written) + 8 >= self.threshold
        if probe:
            self.probed += 1
            self._done.clear()
            self._go.set()
        commit()
        returned = time.perf_counter()
        if probe:
            self._done.wait()
        now_frames, now_backfilled = self._wal()
        if now_frames >= frames:  # (else the WAL started over: how much was written is not known)
            self._written.append(now_frames - frames)
        # by the time COMMIT returns the lock is free, whenever the probe (which needs the GIL, and the
        # collection held off during the transaction may run now) got to see it
        free_at = min(self._free_at, returned) if probe else returned
        if now_backfilled not in (backfilled, 0):  # this COMMIT checkpointed (0: it restarted the WAL)
            self.checkpoints += 1
            self.unprobed += not probe
            self.checkpoint_tail.append(returned - free_at)
        return free_at

    def close(self) -> None:
        self._closing = True
        self._go.set()
        self._thread.join()
        self._conn.close()
        if self._shm is not None:
            self._shm.close()


class TimedDatabase(Database):
    """A Database that notes how long each write transaction held its locks: from its BEGIN (on SQLite
    BEGIN IMMEDIATE, which takes the write lock) to the moment its COMMIT released them — on SQLite as
    a second connection sees it (LockProbe), on PostgreSQL when COMMIT returns. Not counted: the wait
    for a pooled connection, the WAL checkpoint SQLite runs in the COMMIT call after the lock is
    released (see LockProbe), and what runs after the commit (the live cache, Python's
    garbage collection held off during the transaction). A transaction that rolls back, and one of an
    ORM session (`write`), counts until it has ended: an upper bound."""

    def __init__(self, url: str):
        super().__init__(url)
        self.held: dict[str, list[float]] = {}
        self.phase = "setup"
        self.probe = LockProbe(make_url(url).database) if self.dialect == "sqlite" else None

    def _note(self, seconds: float) -> None:
        self.held.setdefault(self.phase, []).append(seconds)

    @contextmanager
    def _timed(self, inner) -> Iterator:
        begun: float | None = None
        ended: float | None = None
        try:
            with inner as tx:
                begun = time.perf_counter()
                commit = tx.commit

                def timed_commit() -> None:
                    nonlocal ended
                    if self.probe is None:
                        commit()
                        ended = time.perf_counter()
                        return
                    ended = self.probe.released(commit)

                tx.commit = timed_commit
                yield tx
        finally:
            if begun is not None:  # without a COMMIT (an error), until the rollback: an upper bound
                self._note((ended if ended is not None else time.perf_counter()) - begun)

    def transaction(self, **options):  # type: ignore[override]
        return self._timed(super().transaction(**options))

    @contextmanager
    def write(self):  # type: ignore[override]
        t0 = time.perf_counter()
        try:
            with super().write() as session:
                yield session
        finally:
            self._note(time.perf_counter() - t0)

    def dispose(self) -> None:
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        super().dispose()


def timed_engine(url: str) -> Engine:
    """An Engine whose database is a TimedDatabase."""
    engine = Engine.from_settings(database_url=url)
    engine.db.dispose()
    engine.db = TimedDatabase(url)
    return engine

FIXTURE = ROOT / "benchmarks" / "fixtures" / "paminnelse"


def prepare(engine: Engine, due: int, open_cases: int, closed: int) -> None:
    upgrade(engine)
    deploy_path(engine, FIXTURE, shared_dir=FIXTURE / "none")
    with engine.db.write() as s:
        unit = org.add_unit(s, uuid.uuid4().hex[:12], "Timerskolan")
        user = org.add_user(s, uuid.uuid4().hex, "Bench")
        org.assign_role(s, user.id, unit.id, "specialpedagog")
        pupil = org.add_pupil(s, unit.id, "Bench", "Elev")
        user_id, pupil_id = user.id, pupil.id
        for i in range(DIGEST_USERS):  # they take the daily digest
            reader = org.add_user(s, uuid.uuid4().hex, f"Sammanfattning {i}", f"digest{i}@example.se")
            org.assign_role(s, reader.id, unit.id, "rektor")  # the escalations wait in the rektor's lane
    with engine.db.write() as s:
        s.execute(update(User).where(User.email.like("digest%")).values(daily_digest=True))
    t0 = time.perf_counter()
    fill_closed_tasks(engine, closed, sent_emails=closed // 10)
    print(f"  {engine.db.dialect}: {closed:,} closed tasks written in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    fill_open_cases(engine, open_cases - due, timers_in=timedelta(hours=6))
    for _ in range(due):
        start_case(engine, "paminnelse", pupil_id=pupil_id, by=user_id)
    time.sleep(1.5)  # the boundary timers are PT1S: now they are all due


def plans(engine: Engine) -> dict[str, str]:
    """How the database runs each query a scheduler round makes, on these tables: "index" when no plan
    step reads a whole table of history (tasks, timers, e-mails), else the offending step."""
    now = datetime.now(timezone.utc)
    queries: dict[str, tuple[Sql, dict]] = {
        "timer claim": (timers.NEXT_DUE[engine.db.dialect], {"now": now}),
        "notice claim": (notices.NEXT[engine.db.dialect], {"now": now}),
        "e-mail claim": (mailer.NEXT_DUE[engine.db.dialect], {"now": now, "max": mailer.MAX_ATTEMPTS}),
        "drafts of a closed task": (runner.DROP_WORKING_AIDS[engine.db.dialect][0],
                                    {"task_id": uuid.uuid4()}),
        "a case's timers": (runner.DELETE_TIMERS, {"case_id": 1}),
    }
    found = {}
    with engine.db.snapshot() as tx:
        user_id = tx.scalar(Sql("SELECT min(id) FROM users WHERE daily_digest = :yes"), {"yes": True})
        queries["digest count"] = digest.waiting_query(tx, user_id, now)
        for name, (sql, params) in queries.items():
            bound = {k: tx.time(v) if isinstance(v, datetime) else tx.uuid(v) if isinstance(v, uuid.UUID)
                     else v for k, v in params.items()}
            prefix = "EXPLAIN QUERY PLAN " if tx.sqlite else "EXPLAIN "
            tx.cursor.execute(prefix + sql.rendered[tx.dialect], bound)
            steps = [str(row[-1]) for row in tx.cursor.fetchall()]
            scans = [step for step in steps if HISTORY_SCAN[tx.dialect].search(step)]
            found[name] = "index" if not scans else scans[0].strip()
    return found


def scans(fn, runs: int = 200) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, statistics.quantiles(times, n=20)[-1] * 1000


def digest_round(engine: Engine) -> float:
    """Milliseconds of the round that queues today's digests (SMTP configured but unreachable: the
    e-mails stay queued; only the digests' claims and counts are measured)."""
    configured = engine.config
    # digests are due now, whatever the hour
    engine.config = dataclasses.replace(configured, smtp_host="127.0.0.1", smtp_port=9, digest_hour=0)
    try:
        t0 = time.perf_counter()
        done = scheduler.run_once(engine)
        assert done.digests == DIGEST_USERS, done
        return (time.perf_counter() - t0) * 1000
    finally:
        engine.config = configured


def measure(engine: Engine, due: int, open_cases: int, closed: int) -> dict:
    prepare(engine, due, open_cases, closed)
    engine.live.clear()  # fire from the stored state, as a scheduler on another host would
    engine.db.phase = "firing"
    t0 = time.perf_counter()
    fired = timers.fire_due(engine)
    seconds = time.perf_counter() - t0
    with engine.db.read() as s:
        left = s.scalar(select(func.count()).select_from(Timer))
    assert fired == due, f"fired {fired}, expected {due}"
    engine.db.phase = "catch-up"  # the reminders the escalations opened fall due at once: send them first
    while scheduler.run_once(engine):
        pass
    engine.db.phase = "idle"
    idle_p50, idle_p95 = scans(lambda: timers.fire_one(engine))
    round_p50, round_p95 = scans(lambda: scheduler.run_once(engine), runs=50)
    engine.db.phase = "digest"
    digest_ms = digest_round(engine)
    query_plans = plans(engine)
    longest = {phase: max(held) * 1000 for phase, held in engine.db.held.items() if phase != "setup"}
    background = [t for phase, held in engine.db.held.items() if phase != "setup" for t in held]
    worst = max(longest, key=longest.__getitem__)
    probe = engine.db.probe
    return {"fired": fired, "fire_seconds": seconds, "fired_per_s": fired / seconds, "timers_left": left,
            "idle_timer_scan_p50_ms": idle_p50, "idle_timer_scan_p95_ms": idle_p95,
            "idle_round_p50_ms": round_p50, "idle_round_p95_ms": round_p95, "digest_round_ms": digest_ms,
            "background_tx_max_ms": longest[worst], "background_tx_max_phase": worst,
            "background_tx_p95_ms": statistics.quantiles(background, n=20)[-1] * 1000,
            "background_tx_p99_ms": statistics.quantiles(background, n=100)[-1] * 1000,
            "background_transactions": len(background),
            "background_tx_over_50ms": sum(t > 0.05 for t in background), "plans": query_plans,
            **{f"longest_tx_{phase}_ms": ms for phase, ms in longest.items()},
            **({} if probe is None else {  # SQLite's WAL checkpoints, run in COMMIT calls after the release
                "wal_checkpoints": probe.checkpoints, "wal_checkpoints_unprobed": probe.unprobed,
                "commits_probed": probe.probed,
                "wal_checkpoint_max_ms": max(probe.checkpoint_tail, default=0) * 1000})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=1_000_000)
    args = parser.parse_args()
    results: dict = {"due": args.due, "open_cases": args.open, "closed_tasks": args.closed}
    with tempfile.TemporaryDirectory() as tmp:
        engine = timed_engine(f"sqlite:///{Path(tmp) / 'timers.db'}")
        results["sqlite"] = measure(engine, args.due, args.open, args.closed)
        engine.close()
    pg = fresh_postgres()
    if pg is not None:
        pg.close()
        pg = timed_engine(POSTGRES_URL)
        results["postgresql"] = measure(pg, args.due, args.open, args.closed)
        pg.close()

    print(f"Timer benchmark: {args.due:,} due timers among {args.open:,} open cases, "
          f"{args.closed:,} closed tasks\n")
    print(f"{'':12}{'fire all':>10}{'timers/s':>10}{'idle scan p50':>15}{'p95':>8}"
          f"{'idle round p50':>16}{'p95':>8}{'digest round':>14}{'longest tx':>12}"
          f"{'(firing':>9}{'catch-up':>9}{'idle':>7}{'digest)':>9}")
    for key in ("sqlite", "postgresql"):
        if key in results:
            r = results[key]
            print(f"{key:12}{r['fire_seconds']:>9.1f}s{r['fired_per_s']:>10.0f}{r['idle_timer_scan_p50_ms']:>13.2f}ms"
                  f"{r['idle_timer_scan_p95_ms']:>6.2f}ms{r['idle_round_p50_ms']:>14.2f}ms{r['idle_round_p95_ms']:>6.2f}ms"
                  f"{r['digest_round_ms']:>12.0f}ms{r['background_tx_max_ms']:>10.1f}ms"
                  f"{r['longest_tx_firing_ms']:>9.1f}{r['longest_tx_catch-up_ms']:>9.1f}"
                  f"{r['longest_tx_idle_ms']:>7.1f}{r['longest_tx_digest_ms']:>9.1f}")
    print("\nLongest background transaction (SQLite: the write lock held, from BEGIN IMMEDIATE to its "
          "release as a second connection sees it; PostgreSQL: BEGIN to COMMIT):")
    for key in ("sqlite", "postgresql"):
        if key in results:
            r = results[key]
            print(f"  {key:12}{r['background_tx_max_ms']:8.1f} ms ({r['background_tx_max_phase']}); "
                  f"p95 {r['background_tx_p95_ms']:.1f} ms, p99 {r['background_tx_p99_ms']:.1f} ms, "
                  f"{r['background_tx_over_50ms']} of {r['background_transactions']:,} over 50 ms")
    if "sqlite" in results:
        r = results["sqlite"]
        print(f"  SQLite's WAL auto-checkpoints: {r['wal_checkpoints']}, run in the COMMIT call after the "
              f"lock's release (not counted above), the longest {r['wal_checkpoint_max_ms']:.1f} ms; "
              f"{r['wal_checkpoints_unprobed']} not probed")
    for key in ("sqlite", "postgresql"):
        if key in results:
            print(f"\n{key}: how each query of a scheduler round runs ('index': it reads no history)")
            for name, plan in results[key]["plans"].items():
                print(f"  {name:26}{plan}")
    print("\nTargets: fire all under 60 s on SQLite; an idle round's p95 under 50 ms; no background "
          "transaction (on SQLite: write lock held) over 50 ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
