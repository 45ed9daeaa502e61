"""Quality follow-up benchmark: building the dashboard over 100,000 cases and 1,000,000 audit events.

The shipped routines are deployed; then 100,000 cases of särskilt stöd, kränkande behandling and frånvaro
are written straight into the tables (COPY) over 200 school units and three years, with the task rows
such cases leave behind (each step completed a few days after the one before, the newest still open,
the answers the figures count in their data) and 1,000,000 audit events. Then it times, warm, median of
several runs:
  - the huvudman's dashboard over all 200 units (every figure, nothing filtered),
  - one rektor's dashboard for their unit,
  - the process view's figures for särskilt stöd over all units.
(The CSV and XLSX exports and the PDF report format what the dashboard returns and are not timed.)
On PostgreSQL (ELEVFLOW_BENCH_POSTGRES_URL, or the local default), the production database; SQLite
computes its percentiles in Python and is meant for small installations.
Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/reports.py [--cases N] [--events N] [--runs N]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import POSTGRES_URL, fresh_postgres  # noqa: E402
from psycopg.types.json import Json  # noqa: E402
from sqlalchemy import text  # noqa: E402

from elevflow.engine import Engine, deploy_path, upgrade  # noqa: E402
from elevflow.engine.expressions.terms import Term  # noqa: E402
from elevflow.engine.org import records as org  # noqa: E402
from elevflow.engine.oversight import quality  # noqa: E402

PROCESSES = ROOT / "processes"
UNITS = 200
YEARS = 3
BATCH = 5000
# The steps each kind of case goes through, in order, with the answers the figures read.
PATHS = {
    "sarskilt_stod": [
        ("Task_extra_anpassningar", "larare", None), ("Task_anmalan_rektor", "larare", None),
        ("Task_utse_utredare", "rektor", None), ("Task_pedagogisk_kartlaggning", "specialpedagog", None),
        ("Task_pedagogisk_bedomning", "specialpedagog", None), ("Task_prova_utredning", "rektor", None),
        ("decision", "rektor", None), ("Task_delge_beslut", "rektor", None),
        ("Task_registrera_overklagande", "rektor", None),
        ("Task_prova_rattidighet", "rektor", "overklagande_rattidighet"),
        ("Task_omprova_beslut", "rektor", "overklagande_omprovning"),
        ("Task_yttrande_overlamna", "rektor", None),
        ("Task_registrera_avgorande", "rektor", "overklagande_avgorande")],
    "krankande_behandling": [
        ("Task_kb_anmalan_rektor", "larare", "kb_anmalan"), ("Task_kb_rektor", "rektor", None),
        ("Task_kb_huvudman_registrera", "huvudman", None),
        ("Task_kb_utredning", "elevhalsopersonal", "kb_bedomning"),
        ("Task_kb_avsluta", "rektor", None), ("Task_kb_huvudman_avslut", "huvudman", None)],
    "franvaro": [
        ("Task_fr_signal", "mentor", None), ("Task_fr_kontakt_vh", "mentor", None),
        ("Task_fr_starta_utredning", "rektor", None), ("Task_fr_huvudman", "huvudman", None),
        ("Task_fr_utredning", "elevhalsopersonal", "fr_utred_sarskilt_stod"),
        ("Task_fr_avsluta", "rektor", None)],
}
DECISIONS = ["Task_beslut_atgardsprogram"] * 6 + ["Task_beslut_ej_atgardsprogram"] * 3 + [
    "Task_beslut_sarskild_undervisningsgrupp", "Task_beslut_anpassad_studiegang"]
KINDS = ["sarskilt_stod"] * 6 + ["krankande_behandling"] * 3 + ["franvaro"]


def answer(kind: str | None, rng: random.Random) -> dict | None:
    if kind is None:
        return {"anteckning": "Anteckning"}
    if kind == "kb_anmalan":
        return {"kb_inblandade": rng.choice(["elev_elev", "personal_elev", "okand"]),
                "kb_form": rng.sample(["fysisk", "verbal", "psykosocial", "digital"], rng.randint(1, 2))}
    if kind == "kb_bedomning":
        return {kind: rng.choice(["krankande_behandling", "trakasserier", "ej_konstaterat"])}
    if kind == "fr_utred_sarskilt_stod":
        return {kind: rng.random() < 0.3}
    return {"overklagande_rattidighet": {kind: "i_tid"}, "overklagande_omprovning": {kind: "andras_ej"},
            "overklagande_avgorande": {kind: rng.choice(["avslag", "andrat", "aterforvisat"])}}.get(kind)


def one_case(case_id: int, rng: random.Random, now: datetime, span: float, versions: dict[str, int],
             units: list[int], pupils: list[int], actor: int) -> tuple[tuple, list[tuple]]:
    """One case's row and its task rows: each step done some days after the one before, the last one
    (or one reaching today) still open."""
    key = KINDS[case_id % len(KINDS)]
    pupil = pupils[case_id % len(pupils)]
    unit = units[(case_id % len(pupils)) % UNITS]  # the pupil's unit
    started = now - timedelta(seconds=rng.random() * span)
    path = PATHS[key]
    length = rng.randint(2, len(path))
    at, ended, tasks = started, None, []
    for i, (bpmn_id, role, kind) in enumerate(path[:length]):
        if bpmn_id == "decision":
            bpmn_id = rng.choice(DECISIONS)
        opened = at
        at = at + timedelta(days=rng.expovariate(1 / 5), hours=rng.randint(0, 8))
        done = i < length - 1 and at < now
        tasks.append((uuid.uuid4(), case_id, key, bpmn_id, bpmn_id[5:].replace("_", " "), role, unit, pupil,
                      "completed" if done else "ready", "form.json", opened,
                      opened + timedelta(days=rng.choice([1, 7, 14, 21])), at if done else None,
                      actor if done else None, Json(answer(kind, rng)) if done else None, 0))
        if not done:
            break
    else:
        ended = at
    return (case_id, versions[key], key, pupil, unit, "completed" if ended else "running", actor, started,
            ended, 1, "1.5", b"{}"), tasks


def copy(cur, table: str, rows: list[tuple]) -> None:
    with cur.copy(f"COPY {table} FROM STDIN") as out:
        for row in rows:
            out.write_row(row)


def generate(engine: Engine, cases: int, events: int, seed: int = 7) -> dict:
    """Organisation, routines and the bulk rows; returns the ids the measurement needs."""
    rng = random.Random(seed)
    for routine in ("sarskilt_stod", "krankande_behandling", "franvaro", "arshjul"):
        deploy_path(engine, PROCESSES / routine, shared_dir=PROCESSES / "shared")
    with engine.db.write() as s:
        kommun = org.add_organiser(s, "Bänkby kommun")
        units = [org.add_unit(s, f"9{i:07d}", f"Skola {i}", kommun.id).id for i in range(UNITS)]
        pupils = [org.add_pupil(s, units[i % UNITS], "Elev", str(i)).id for i in range(UNITS * 10)]
        huvudman = org.add_user(s, "huvudman", "Huvudman")
        rektor = org.add_user(s, "rektor", "Rektor")
        for unit in units:
            org.assign_role(s, huvudman.id, unit, "huvudman")
        org.assign_role(s, rektor.id, units[0], "rektor")
        versions = dict(s.execute(text("SELECT key, id FROM process_versions")).all())
        ids = {"huvudman": huvudman.id, "rektor": rektor.id, "units": units}
    now = datetime.now(timezone.utc)
    span = timedelta(days=365 * YEARS).total_seconds()
    raw = engine.db.write_engine.raw_connection()
    try:
        cur = raw.cursor()
        task_count = 0
        for first in range(1, cases + 1, BATCH):  # cases first, then their tasks (foreign keys)
            case_rows, task_rows = [], []
            for case_id in range(first, min(first + BATCH, cases + 1)):
                case_row, tasks = one_case(case_id, rng, now, span, versions, units, pupils, ids["rektor"])
                case_rows.append(case_row)
                task_rows += tasks
            copy(cur, "cases (id, process_version_id, process_key, pupil_id, unit_id, status, started_by, "
                 "started_at, ended_at, row_version, serializer_version, state)", case_rows)
            copy(cur, "tasks (id, case_id, process_key, bpmn_id, name, role, unit_id, pupil_id, state, form, "
                 "created_at, due_at, completed_at, completed_by, data, notice_level)", task_rows)
            task_count += len(task_rows)
        kinds = ["task_created", "task_completed", "task_assigned", "gateway_taken"]
        cur.execute("SELECT seq FROM audit_head WHERE id = 1")
        head = cur.fetchone()[0]  # the deployments' own events come first
        with cur.copy("COPY audit_events (seq, at, kind, actor_id, case_id, pupil_id, unit_id, data, "
                      "prev_hash, hash) FROM STDIN") as audit_copy:
            start = datetime.now(timezone.utc) - timedelta(seconds=span)
            for seq in range(head + 1, head + events + 1):
                case_id = 1 + seq % cases
                audit_copy.write_row((seq, start + timedelta(seconds=seq * span / events), kinds[seq % 4],
                                      ids["rektor"], case_id, pupils[case_id % len(pupils)],
                                      units[(case_id % len(pupils)) % UNITS],
                                      Json({"bpmn_id": "Task_x", "task_id": str(uuid.UUID(int=seq))}),
                                      bytes(32), bytes(32)))
        cur.execute("UPDATE audit_head SET seq = %s WHERE id = 1", (head + events,))
        cur.execute("SELECT setval('cases_id_seq', %s)", (cases,))
        raw.commit()
    finally:
        raw.close()
    with engine.db.write_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM ANALYZE")
    ids["tasks"] = task_count
    return ids


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm: the deployed versions are parsed once per process, as in a running web worker
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="time the data a previous run generated")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.reuse:
        engine = Engine.from_settings(database_url=POSTGRES_URL)
        with engine.db.read() as s:
            users = dict(s.execute(text("SELECT username, id FROM users")).all())
            ids = {"huvudman": users["huvudman"], "rektor": users["rektor"],
                   "tasks": s.execute(text("SELECT count(*) FROM tasks")).scalar()}
            args.cases = s.execute(text("SELECT count(*) FROM cases")).scalar()
            args.events = s.execute(text("SELECT count(*) FROM audit_events")).scalar()
    else:
        engine = fresh_postgres()
        if engine is None:
            sys.exit("this benchmark needs PostgreSQL (ELEVFLOW_BENCH_POSTGRES_URL)")
        upgrade(engine)
        ids = generate(engine, args.cases, args.events)
    generated = time.perf_counter() - t0
    term = Term.of(datetime.now(timezone.utc))
    everyone = quality.scope_for(engine, ids["huvudman"])
    one = quality.scope_for(engine, ids["rektor"])
    results: dict = {"cases": args.cases, "audit_events": args.events, "task_rows": ids["tasks"],
                     "units": UNITS, "generate_seconds": round(generated, 1)}
    cases = {
        "huvudman_all_units": lambda: quality.dashboard(
            engine, everyone, quality.Selection(term, tuple(everyone.units))),
        "rektor_one_unit": lambda: quality.dashboard(engine, one, quality.Selection(term, tuple(one.units))),
        "process_view_all_units": lambda: quality.dashboard(
            engine, everyone, quality.Selection(term, tuple(everyone.units), routine="sarskilt_stod")),
    }
    for name, fn in cases.items():
        median, worst = timed(fn, args.runs)
        results[name] = {"median_s": round(median, 3), "max_s": round(worst, 3)}
    engine.close()

    print(f"Quality follow-up benchmark (PostgreSQL): {args.cases:,} cases, {ids['tasks']:,} task rows, "
          f"{args.events:,} audit events, {UNITS} school units, term {term.label}\n")
    print(f"{'':28}{'median':>10}{'max':>10}")
    for name in cases:
        print(f"{name:28}{results[name]['median_s']:>9.3f}s{results[name]['max_s']:>9.3f}s")
    print("\nTarget: the dashboard built in under 2 s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
