"""Engine benchmark: what persistence costs per step, per case, and what an inbox costs at scale.

The same workload — N cases through a support-chain process with three user tasks, a gateway and a
boundary timer (tests/fixtures/stodkedja) — runs
  (a) in memory with plain SpiffWorkflow, nothing persisted (the same sandboxed script engine),
  (b) through the engine on SQLite,
  (c) through the engine on PostgreSQL, when one answers at ELEVFLOW_BENCH_POSTGRES_URL.
Both measure only the calls that do the work (start a case, complete a task); looking up the next
task's id is outside the clock on both sides. Then it fills a database with 100,000 open cases and
times a user's inbox query.

With --breakdown it runs the persisted workload once more with every phase of a step timed
(benchmarks/step_phases.py) and prints milliseconds per step for each: SpiffWorkflow's own work,
serialising the state, SQL statements, the commit, and the rest.

Prints a table, and as its last line one JSON object with the same figures.
Each engine runs `--rounds` rounds, each round followed by the same cases in memory, and the fastest
round of each side counts: on a shared machine a load spike then slows one round, not the ratio.

Usage: python benchmarks/engine.py [--cases N] [--inbox-cases N] [--rounds N] [--breakdown]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import ANSWERS, CHAIN, chain_people, fill_open_cases, fresh_postgres, ready_task  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.task import TaskState  # noqa: E402
from sqlalchemy import text  # noqa: E402
from step_phases import PHASES, Phases  # noqa: E402

from elevflow.engine import Engine, deploy_path, inbox, start_case  # noqa: E402
from elevflow.engine.expressions import sandbox  # noqa: E402
from elevflow.engine.runtime.tasks import run_step  # noqa: E402
from elevflow.engine.storage.workflow import Workflow  # noqa: E402

STEPS_PER_CASE = 1 + len(ANSWERS)  # start + each completion
clock = time.perf_counter  # --clock cpu: time.process_time


def in_memory(parsed, cases: int, workflow_class: type = BpmnWorkflow) -> float:
    """Seconds for `cases` cases in plain SpiffWorkflow (or, for the breakdown, in the engine's own
    workflow class: SpiffWorkflow with the engine's task scan, engine/storage/workflow.py)."""
    script = sandbox.script_engine()
    spent = 0.0
    for _ in range(cases):
        t0 = clock()
        workflow = workflow_class(parsed.spec, parsed.subprocess_specs, script_engine=script)
        workflow.do_engine_steps()
        spent += clock() - t0
        for answer in ANSWERS:
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]  # outside the clock, as (b)'s
            t0 = clock()
            task.data.update(answer)
            task.run()
            workflow.do_engine_steps()
            spent += clock() - t0
        assert workflow.completed
    return spent




def persisted(engine: Engine, cases: int, user: int, pupil: int,
              phases: Phases | None = None) -> tuple[float, int, int]:
    """Seconds spent in start_case and the engine steps for `cases` cases; statements and commits they sent
    (counted by the engine's step transactions: each user action is one)."""
    spent, statements, commits = 0.0, engine.db.stats.statements, engine.db.stats.commits
    counting = phases.counting if phases is not None else nullcontext
    for _ in range(cases):
        t0 = clock()
        with counting():
            case = start_case(engine, "stodkedja", pupil_id=pupil, by=user)
        spent += clock() - t0
        for answer in ANSWERS:
            task_id = ready_task(engine, case.id)
            t0 = clock()
            # The engine step itself. A decision is completed only by signing it, which also renders its
            # PDF (benchmarks/web_load.py times that); `signing=True` is the step signing runs, without it.
            with counting():
                run_step(engine, task_id, answer, by=user, expected_row_version=None, within=None,
                         signing=True)
            spent += clock() - t0
    return spent, engine.db.stats.statements - statements, engine.db.stats.commits - commits


def sqlite_bytes(path: Path, engine: Engine) -> int:
    """Pages in use (the logical database, WAL included), times the page size."""
    with engine.db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
        size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    return (pages - free) * size


def postgres_bytes(engine: Engine) -> int:
    with engine.db.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT sum(pg_total_relation_size(quote_ident(tablename))) FROM pg_tables "
            "WHERE schemaname = 'public'")).scalar())


def run_engine(engine: Engine, cases: int, size_of, rounds: int, breakdown: bool = False) -> dict:
    """`rounds` rounds of `cases` cases through the engine, each followed by the same cases in memory; the
    ratio is the fastest persisted round's time over the fastest in-memory round's (so a load spike on a
    shared machine slows one round, not the figure). Sizes and statement counts are the first round's."""
    user, pupil = chain_people(engine)
    deploy_path(engine, CHAIN, shared_dir=CHAIN / "none")
    parsed = engine.specs.get(1)
    persisted(engine, max(5, cases // 10), user, pupil)  # warm-up: caches, connections
    in_memory(parsed, max(5, cases // 10))
    before = size_of()
    seconds, statements, commits = persisted(engine, cases, user, pupil)
    after = size_of()
    memory = [in_memory(parsed, cases)]
    times = [seconds]
    for _ in range(rounds - 1):
        times.append(persisted(engine, cases, user, pupil)[0])
        memory.append(in_memory(parsed, cases))
    best, best_memory = min(times), min(memory)
    results = {"seconds": best, "steps_per_s": cases * STEPS_PER_CASE / best,
               "memory_seconds": best_memory, "ratio": best / best_memory,
               "round_ratios": [t / m for t, m in zip(times, memory, strict=True)],
               "bytes_per_case": (after - before) / cases,
               "statements_per_case": statements / cases, "commits_per_case": commits / cases,
               "live_hits": engine.live.hits, "live_misses": engine.live.misses}
    if breakdown:  # the fastest of `rounds` timed rounds
        tables = []
        for _ in range(rounds):
            phases = Phases(clock)
            with phases.installed():
                timed, _, _ = persisted(engine, cases, user, pupil, phases)
            tables.append((timed, phases.table(timed, cases * STEPS_PER_CASE)))
        results["breakdown_ms"] = min(tables, key=lambda t: t[0])[1]
        breakdown = results["breakdown_ms"]
        breakdown["SpiffWorkflow in memory"] = best_memory * 1000 / (cases * STEPS_PER_CASE)
        own = min(in_memory(parsed, cases, Workflow) for _ in range(rounds))
        breakdown["  the same, engine's Workflow"] = own * 1000 / (cases * STEPS_PER_CASE)
        # What no implementation of this data model escapes: SpiffWorkflow's own work (in the engine's
        # class, in a tight loop) and the database's (its statements and the commit, timed around the
        # driver's calls), against the in-memory step.
        results["floor_ratio"] = (breakdown["  the same, engine's Workflow"] + breakdown["SQL statements"]
                                  + breakdown["commit"]) / breakdown["SpiffWorkflow in memory"]
    return results


def inbox_p95(engine: Engine, user_id: int, runs: int = 300) -> tuple[float, int]:
    times = []
    found = 0
    for _ in range(runs):
        t0 = clock()
        found = len(inbox(engine, user_id))
        times.append(clock() - t0)
    return statistics.quantiles(times, n=20)[-1] * 1000, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--inbox-cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each; the fastest counts")
    parser.add_argument("--breakdown", action="store_true", help="time each phase of a step too")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: this process's CPU time, not wall time - on a loaded machine the figure "
                        "for SQLite, which runs in the process (PostgreSQL's own work is left out)")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    os.environ.setdefault("ELEVFLOW_LIVE_CASES", "500")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        sqlite = Engine.from_settings(database_url=f"sqlite:///{path}")
        results = {"cases": args.cases, "steps_per_case": STEPS_PER_CASE, "rounds": args.rounds,
                   "clock": args.clock}
        results["sqlite"] = run_engine(sqlite, args.cases, lambda: sqlite_bytes(path, sqlite), args.rounds,
                                       args.breakdown)
        user = fill_open_cases(sqlite, args.inbox_cases)
        results["sqlite"]["inbox_p95_ms"], results["sqlite"]["inbox_rows"] = inbox_p95(sqlite, user)
        sqlite.close()

    pg = fresh_postgres()
    if pg is not None:
        results["postgresql"] = run_engine(pg, args.cases, lambda: postgres_bytes(pg), args.rounds,
                                           args.breakdown)
        user = fill_open_cases(pg, args.inbox_cases)
        results["postgresql"]["inbox_p95_ms"], results["postgresql"]["inbox_rows"] = inbox_p95(pg, user)
        pg.close()
    memory_seconds = min(results[k]["memory_seconds"] for k in ("sqlite", "postgresql") if k in results)
    results["memory"] = {"seconds": memory_seconds,
                         "steps_per_s": args.cases * STEPS_PER_CASE / memory_seconds}

    print(f"Engine benchmark ({args.clock} time): {args.cases} cases x {STEPS_PER_CASE} steps, fastest of "
          f"{args.rounds} rounds; "
          f"inbox over {args.inbox_cases:,} open cases\n")
    print(f"{'':24}{'steps/s':>10}{'x memory':>10}{'stmts/case':>12}{'commits/case':>14}"
          f"{'bytes/case':>12}{'inbox p95':>11}")
    print(f"{'(a) SpiffWorkflow, memory':24}{results['memory']['steps_per_s']:>10.0f}{1:>10.2f}")
    for key, label in (("sqlite", "(b) engine, SQLite"), ("postgresql", "(c) engine, PostgreSQL")):
        if key in results:
            r = results[key]
            print(f"{label:24}{r['steps_per_s']:>10.0f}{r['ratio']:>10.2f}{r['statements_per_case']:>12.1f}"
                  f"{r['commits_per_case']:>14.1f}{r['bytes_per_case']:>12.0f}{r['inbox_p95_ms']:>9.2f}ms")
    if args.breakdown:
        print(f"\nms per step{'':17}" + "".join(f"{k:>12}" for k in ("sqlite", "postgresql") if k in results))
        for phase in ["SpiffWorkflow in memory", "  the same, engine's Workflow", *PHASES]:
            print(f"{phase:28}" + "".join(f"{results[k]['breakdown_ms'][phase]:>12.3f}"
                                            for k in ("sqlite", "postgresql") if k in results))
        print(f"{'floor (x memory)':28}" + "".join(f"{results[k]['floor_ratio']:>12.2f}"
                                                    for k in ("sqlite", "postgresql") if k in results))
        print("floor: the engine's SpiffWorkflow work in a tight loop plus the database's statements and "
              "commit, over the in-memory step")
    print("\nTargets: x memory <= 2 on SQLite; 1 commit per user action (4 per case); "
          "<= 10,240 bytes per finished case; inbox p95 < 20 ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
