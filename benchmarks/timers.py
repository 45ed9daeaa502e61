"""Timer benchmark: firing 10,000 due timers among 100,000 open cases, and an idle scan's cost.

10,000 real cases wait in a task with a one-second boundary timer (benchmarks/fixtures/paminnelse); the
other 90,000 open cases (bulk rows, see bulk.py) wait on timers hours away. Then it measures
  - the time to fire all due timers (each firing loads its case, runs the escalation and saves it),
  - the cost of one scheduler scan when nothing is due (timers alone, and a whole scheduler round:
    timers, deadline notices, digests, e-mail), p50 and p95 over repeated scans.
On SQLite, and on PostgreSQL when ELEVFLOW_BENCH_POSTGRES_URL (or the local default) answers.
Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/timers.py [--due N] [--open N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import fill_open_cases, fresh_postgres  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from engine import Database, deploy_path, org, scheduler, start_case, timers, upgrade  # noqa: E402  # noqa: E402
from engine.models import Timer  # noqa: E402

FIXTURE = ROOT / "benchmarks" / "fixtures" / "paminnelse"


def prepare(db: Database, due: int, open_cases: int) -> None:
    upgrade(db)
    deploy_path(db, FIXTURE, shared_dir=FIXTURE / "none")
    with db.write() as s:
        unit = org.add_unit(s, uuid.uuid4().hex[:12], "Timerskolan")
        user = org.add_user(s, uuid.uuid4().hex, "Bench")
        org.assign_role(s, user.id, unit.id, "specialpedagog")
        pupil = org.add_pupil(s, unit.id, "Bench", "Elev")
        user_id, pupil_id = user.id, pupil.id
    fill_open_cases(db, open_cases - due, timers_in=timedelta(hours=6))
    for _ in range(due):
        start_case(db, "paminnelse", pupil_id=pupil_id, by=user_id)
    time.sleep(1.5)  # the boundary timers are PT1S: now they are all due


def scans(fn, runs: int = 200) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, statistics.quantiles(times, n=20)[-1] * 1000


def measure(db: Database, due: int, open_cases: int) -> dict:
    prepare(db, due, open_cases)
    db.live.clear()  # fire from the stored state, as a scheduler on another host would
    t0 = time.perf_counter()
    fired = timers.fire_due(db)
    seconds = time.perf_counter() - t0
    with db.read() as s:
        left = s.scalar(select(func.count()).select_from(Timer))
    assert fired == due, f"fired {fired}, expected {due}"
    idle_p50, idle_p95 = scans(lambda: timers.fire_one(db))
    round_p50, round_p95 = scans(lambda: scheduler.run_once(db), runs=50)
    return {"fired": fired, "fire_seconds": seconds, "fired_per_s": fired / seconds, "timers_left": left,
            "idle_timer_scan_p50_ms": idle_p50, "idle_timer_scan_p95_ms": idle_p95,
            "idle_round_p50_ms": round_p50, "idle_round_p95_ms": round_p95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=100_000)
    args = parser.parse_args()
    results: dict = {"due": args.due, "open_cases": args.open}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'timers.db'}")
        results["sqlite"] = measure(db, args.due, args.open)
        db.dispose()
    pg = fresh_postgres()
    if pg is not None:
        results["postgresql"] = measure(pg, args.due, args.open)
        pg.dispose()

    print(f"Timer benchmark: {args.due:,} due timers among {args.open:,} open cases\n")
    print(f"{'':12}{'fire all':>10}{'timers/s':>10}{'idle scan p50':>15}{'p95':>8}"
          f"{'idle round p50':>16}{'p95':>8}")
    for key in ("sqlite", "postgresql"):
        if key in results:
            r = results[key]
            print(f"{key:12}{r['fire_seconds']:>9.1f}s{r['fired_per_s']:>10.0f}{r['idle_timer_scan_p50_ms']:>13.2f}ms"
                  f"{r['idle_timer_scan_p95_ms']:>6.2f}ms{r['idle_round_p50_ms']:>14.2f}ms{r['idle_round_p95_ms']:>6.2f}ms")
    print("\nTargets: fire all under 60 s on SQLite; an idle scan under 50 ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
