"""What SQLAlchemy Core costs per statement beside the step path's hand-written DB-API SQL (issue 15, #6).

The same statements against the same tables run two ways, in one process, on the same connection pool:
  (a) the step path's way: `engine.dbapi.Sql` on the bare DB-API cursor, values bound by hand (`Tx.uuid`,
      `Tx.time`), as `runner.py` runs them;
  (b) SQLAlchemy Core: `select()` / `update()` / `insert()` on the models' tables, executed on a
      SQLAlchemy Connection (compiled-statement cache on, as in production), types binding the values.
The statements are a step's own (lock the case row, save the case, insert a task row, close a task row)
and a per-request read (a task with its case, as the task page reads it). Each is timed in alternating
rounds inside one transaction that is rolled back; the figure is the median round's time per statement.
A step is timed too, in the same run (one task completion through `tasks.run_step`, as
benchmarks/engine.py does), so the overhead is set against what a step costs.

Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/sql_style.py [--rounds N] [--per-round N] [--cases N]
PostgreSQL is measured when one answers at ELEVFLOW_BENCH_POSTGRES_URL (that database is dropped, made anew).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import ANSWERS, CHAIN, chain_people, fresh_postgres, ready_task  # noqa: E402
from sqlalchemy import bindparam, insert, select, update  # noqa: E402

from elevflow.engine import Engine, deploy_path, start_case  # noqa: E402
from elevflow.engine.runtime.tasks import run_step  # noqa: E402
from elevflow.engine.storage.dbapi import Sql, Tx  # noqa: E402
from elevflow.engine.storage.models import Case, TaskRow  # noqa: E402

CASES, TASKS = Case.__table__, TaskRow.__table__
CASE_COLUMNS = "id, process_version_id, process_key, pupil_id, unit_id, status, row_version"
LOCK_CASE = {"sqlite": Sql(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id"),
             "postgresql": Sql(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id FOR NO KEY UPDATE")}
SAVE_CASE = Sql("""UPDATE cases SET state = :state, row_version = :new_version, status = :status,
    ended_at = :ended_at, serializer_version = :serializer, error = NULL, error_at = NULL
    WHERE id = :id AND row_version = :version""")
INSERT_TASK = Sql("""INSERT INTO tasks (id, case_id, process_key, bpmn_id, name, role, unit_id, pupil_id,
    assignee_id, state, form, created_at, due_at, notice_at, notice_level) VALUES (:id, :case_id,
    :process_key, :bpmn_id, :name, :role, :unit_id, :pupil_id, :assignee_id, 'ready', :form, :created_at,
    :due_at, :notice_at, 0)""")
CLOSE_TASK = Sql("""UPDATE tasks SET state = 'completed', completed_at = :now, completed_by = :by,
    data = :data WHERE id = :id""")
READ_TASK = Sql("""SELECT t.id, t.case_id, t.name, t.role, t.state, t.form, t.assignee_id, t.due_at, t.data,
    c.process_key, c.status, c.row_version, c.unit_id FROM tasks t JOIN cases c ON c.id = t.case_id
    WHERE t.id = :id""")




def steps(engine: Engine, cases: int, user: int, pupil: int) -> tuple[float, float]:
    """(seconds per task completion, statements per completion) over `cases` cases."""
    spent, done, statements = 0.0, 0, 0
    for _ in range(cases):
        case = start_case(engine, "stodkedja", pupil_id=pupil, by=user)
        for answer in ANSWERS:
            task_id = ready_task(engine, case.id)
            before = engine.db.stats.statements
            t0 = time.perf_counter()
            run_step(engine, task_id, answer, by=user, expected_row_version=None, within=None, signing=True)
            spent += time.perf_counter() - t0
            statements += engine.db.stats.statements - before
            done += 1
    return spent / done, statements / done


class Pair:
    """One statement both ways: `raw(tx)` on the DB-API, `core(conn)` through SQLAlchemy Core."""

    def __init__(self, name: str, raw: Callable[[Tx], object], core: Callable[[object], object]):
        self.name, self.raw, self.core = name, raw, core


def pairs(engine: Engine, case_id: int, task_id: uuid.UUID, user: int) -> list[Pair]:
    """The statements both ways. Core's are built once, with bound parameters, as module constants would
    be (as the DB-API side keeps its `Sql` constants), so each execution meets SQLAlchemy's compiled cache."""
    dialect = engine.db.dialect
    now = datetime.now(timezone.utc)
    with engine.db.read() as s:
        row = s.execute(select(CASES).where(CASES.c.id == case_id)).one()
    state, version, serializer = row.state, row.row_version, row.serializer_version
    lock_core = (select(CASES.c.id, CASES.c.process_version_id, CASES.c.process_key, CASES.c.pupil_id,
                        CASES.c.unit_id, CASES.c.status, CASES.c.row_version)
                 .where(CASES.c.id == bindparam("id")))
    if dialect == "postgresql":
        lock_core = lock_core.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    save_core = (update(CASES)
                 .where(CASES.c.id == bindparam("case_id"), CASES.c.row_version == bindparam("seen"))
                 .values(state=bindparam("state"), row_version=bindparam("new_version"),
                         status=bindparam("status"), ended_at=bindparam("ended_at"),
                         serializer_version=bindparam("serializer"), error=None, error_at=None))
    insert_core = insert(TASKS).values(state="ready", notice_level=0)
    close_core = (update(TASKS).where(TASKS.c.id == bindparam("task_id"))
                  .values(state="completed", completed_at=bindparam("now"), completed_by=bindparam("by"),
                          data=bindparam("data", type_=TASKS.c.data.type)))
    read_core = (select(TASKS.c.id, TASKS.c.case_id, TASKS.c.name, TASKS.c.role, TASKS.c.state, TASKS.c.form,
                        TASKS.c.assignee_id, TASKS.c.due_at, TASKS.c.data, CASES.c.process_key,
                        CASES.c.status, CASES.c.row_version, CASES.c.unit_id)
                 .join(CASES, CASES.c.id == TASKS.c.case_id).where(TASKS.c.id == bindparam("id")))

    def new_task() -> dict:
        return {"id": uuid.uuid4(), "case_id": case_id, "process_key": "stodkedja", "bpmn_id": "T",
                "name": "T", "role": "larare", "unit_id": row.unit_id, "pupil_id": row.pupil_id,
                "assignee_id": None, "form": None, "created_at": now, "due_at": now, "notice_at": None}

    def insert_raw(tx: Tx) -> object:
        values = new_task()
        values.update(id=tx.uuid(values["id"]), created_at=tx.time(now), due_at=tx.time(now))
        return tx.execute(INSERT_TASK, values)

    save = {"state": state, "status": "running", "ended_at": None, "serializer": serializer}
    return [
        Pair("lock the case row", lambda tx: tx.first(LOCK_CASE[dialect], {"id": case_id}),
             lambda conn: conn.execute(lock_core, {"id": case_id}).first()),
        Pair("save the case (row_version)",
             lambda tx: tx.execute(SAVE_CASE, {**save, "new_version": version, "id": case_id,
                                               "version": version}).rowcount,
             lambda conn: conn.execute(save_core, {**save, "new_version": version, "case_id": case_id,
                                                   "seen": version}).rowcount),
        Pair("insert a task row", insert_raw, lambda conn: conn.execute(insert_core, new_task())),
        Pair("close a task row", lambda tx: tx.execute(CLOSE_TASK, {
            "now": tx.time(now), "by": user, "data": tx.json({"a": 1}), "id": tx.uuid(task_id)}).rowcount,
            lambda conn: conn.execute(close_core, {"now": now, "by": user, "data": {"a": 1},
                                                   "task_id": task_id}).rowcount),
        Pair("per request: a task with its case", lambda tx: tx.first(READ_TASK, {"id": tx.uuid(task_id)}),
             lambda conn: conn.execute(read_core, {"id": task_id}).first()),
    ]


def time_pairs(engine: Engine, plist: list[Pair], rounds: int, per_round: int) -> dict[str, dict[str, float]]:
    """Microseconds per statement, each way: wall-clock time and this process's CPU time (what the Python
    side costs, without waiting for the database), the best of alternating rounds inside rolled-back
    transactions (the best: on a shared machine the other rounds measure the neighbours too)."""
    raw = engine.db.write_engine.raw_connection()
    conn = engine.db.write_engine.connect()
    tx = Tx(raw, engine.db.dialect)
    times: dict[str, dict[str, list[float]]] = {
        p.name: {k: [] for k in ("dbapi", "core", "dbapi_cpu", "core_cpu")} for p in plist}
    try:
        for _ in range(rounds):
            for p in plist:
                for way in ("dbapi", "core"):
                    if way == "dbapi":
                        if tx.sqlite:
                            tx.cursor.execute("BEGIN IMMEDIATE")
                        t0, c0 = time.perf_counter(), time.process_time()
                        for _ in range(per_round):
                            p.raw(tx)
                        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                        raw.rollback()
                    else:
                        trans = conn.begin()
                        t0, c0 = time.perf_counter(), time.process_time()
                        for _ in range(per_round):
                            p.core(conn)
                        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                        trans.rollback()
                    times[p.name][way].append(wall / per_round * 1e6)
                    times[p.name][f"{way}_cpu"].append(cpu / per_round * 1e6)
    finally:
        conn.close()
        raw.close()
    return {name: {k: min(v) for k, v in ways.items()} for name, ways in times.items()}


def measure(engine: Engine, args: argparse.Namespace) -> dict:
    user, pupil = chain_people(engine)
    deploy_path(engine, CHAIN, shared_dir=CHAIN / "none")
    steps(engine, max(3, args.cases // 5), user, pupil)  # warm-up: caches, connections, the live cache
    step_s, statements = steps(engine, args.cases, user, pupil)
    case = start_case(engine, "stodkedja", pupil_id=pupil, by=user)
    plist = pairs(engine, case.id, ready_task(engine, case.id), user)
    per = time_pairs(engine, plist, args.rounds, args.per_round)
    step_names = [p.name for p in plist if not p.name.startswith("per request")]
    wall = statistics.mean(per[n]["core"] - per[n]["dbapi"] for n in step_names)
    cpu = statistics.mean(per[n]["core_cpu"] - per[n]["dbapi_cpu"] for n in step_names)
    return {"statements": {n: {"dbapi_us": round(v["dbapi"], 1), "core_us": round(v["core"], 1),
                               "ratio": round(v["core"] / v["dbapi"], 2),
                               "dbapi_cpu_us": round(v["dbapi_cpu"], 1),
                               "core_cpu_us": round(v["core_cpu"], 1)}
                           for n, v in per.items()},
            "step_ms": round(step_s * 1000, 2), "statements_per_step": round(statements, 2),
            "core_adds_us_per_statement": round(wall, 1), "core_adds_cpu_us_per_statement": round(cpu, 1),
            "core_step_share_pct": round(100 * wall * statements / (step_s * 1e6), 1),
            "core_step_share_cpu_pct": round(100 * cpu * statements / (step_s * 1e6), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=400)
    parser.add_argument("--cases", type=int, default=60)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.from_settings(database_url=f"sqlite:///{tmp}/bench.db")
        results["sqlite"] = measure(engine, args)
        engine.close()
    pg = fresh_postgres()
    if pg is not None:
        results["postgresql"] = measure(pg, args)
        pg.close()
    for dialect, r in results.items():
        print(f"\n{dialect}: a task completion {r['step_ms']} ms, {r['statements_per_step']} statements")
        print(f"  {'statement (µs each)':36} {'DB-API':>8} {'Core':>8} {'ratio':>7} "
              f"{'DB-API CPU':>11} {'Core CPU':>9}")
        for name, v in r["statements"].items():
            print(f"  {name:36} {v['dbapi_us']:>8.1f} {v['core_us']:>8.1f} {v['ratio']:>6.2f}× "
                  f"{v['dbapi_cpu_us']:>11.1f} {v['core_cpu_us']:>9.1f}")
        print(f"  Core adds {r['core_adds_us_per_statement']:.1f} µs per step statement "
              f"({r['core_adds_cpu_us_per_statement']:.1f} µs of CPU): {r['core_step_share_pct']:.1f} % "
              f"({r['core_step_share_cpu_pct']:.1f} %) of a step if all its statements were Core")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
