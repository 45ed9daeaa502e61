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
    held (every write transaction takes it at BEGIN), which every user's step waits behind.
On SQLite, and on PostgreSQL when ELEVFLOW_BENCH_POSTGRES_URL (or the local default) answers.
Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/timers.py [--due N] [--open N] [--closed N]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import POSTGRES_URL, fill_closed_tasks, fill_open_cases, fresh_postgres  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

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


class TimedDatabase(Database):
    """A Database that notes how long each write transaction lasted (on SQLite: held the write lock)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.held: dict[str, list[float]] = {}
        self.phase = "setup"

    @contextmanager
    def _timed(self, inner) -> Iterator:
        t0 = time.perf_counter()
        try:
            with inner as handle:
                yield handle
        finally:
            self.held.setdefault(self.phase, []).append(time.perf_counter() - t0)

    def transaction(self, **options):  # type: ignore[override]
        return self._timed(super().transaction(**options))

    def write(self):  # type: ignore[override]
        return self._timed(super().write())


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
    return {"fired": fired, "fire_seconds": seconds, "fired_per_s": fired / seconds, "timers_left": left,
            "idle_timer_scan_p50_ms": idle_p50, "idle_timer_scan_p95_ms": idle_p95,
            "idle_round_p50_ms": round_p50, "idle_round_p95_ms": round_p95, "digest_round_ms": digest_ms,
            "background_tx_max_ms": max(longest.values()),
            "background_tx_p95_ms": statistics.quantiles(background, n=20)[-1] * 1000,
            "background_transactions": len(background), "plans": query_plans,
            "background_tx_p99_ms": statistics.quantiles(background, n=100)[-1] * 1000,
            **{f"longest_tx_{phase}_ms": ms for phase, ms in longest.items()}}


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
