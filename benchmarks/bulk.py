"""Shared by the benchmarks: a fresh PostgreSQL database, the support-chain workload (its routine, the
answers to its three user tasks, a person and a pupil to run it), and many open cases written into the
tables.

The rows look like what the engine writes for a case waiting in a user task (a task row, optionally a
timer row); their workflow state is a placeholder, since nothing in the measured paths loads them.
"""
from __future__ import annotations

import os
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from elevflow.engine import Engine, upgrade
from elevflow.engine.org import records as org
from elevflow.engine.storage.models import Case, TaskRow, Timer

ROLES = ["larare", "specialpedagog", "rektor", "kurator"]
#: The support chain the step benchmarks run (tests/fixtures/stodkedja), and its user tasks' answers.
CHAIN = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stodkedja"
ANSWERS = [{"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt och tappar fokus."},
           {"behov": "ja", "bedomning": "Behöver stöd i läsförståelse."},
           {"beslut": "atgardsprogram", "motivering": "Utredningen visar behov."}]
POSTGRES_URL = os.environ.get("ELEVFLOW_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/elevflow_bench")


def fresh_postgres() -> Engine | None:
    """An empty PostgreSQL benchmark database (dropped and created), or None if none answers."""
    url = make_url(POSTGRES_URL)
    try:
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    except Exception as exc:  # no PostgreSQL here: its column is left out
        print(f"(PostgreSQL not reachable, skipping it: {exc.__class__.__name__})", file=sys.stderr)
        return None
    return Engine.from_settings(database_url=POSTGRES_URL)


def fill_open_cases(engine: Engine, count: int, *, units: int = 200, timers_in: timedelta | None = None,
                    batch: int = 5000) -> int:
    """Insert `count` open cases with one ready task each (and a timer `timers_in` from now, if given),
    spread over `units` new school units; return a user with teacher and specialpedagog roles at two."""
    now = datetime.now(timezone.utc)
    with engine.db.write() as s:
        version_id = s.execute(text("SELECT id FROM process_versions ORDER BY id LIMIT 1")).scalar()
        unit_ids = [org.add_unit(s, uuid.uuid4().hex[:12], f"Skola {i}").id for i in range(units)]
        pupil_ids = [org.add_pupil(s, u, "Elev", str(i)).id for i, u in enumerate(unit_ids)]
        user = org.add_user(s, uuid.uuid4().hex, "Inkorg")
        for unit in unit_ids[:2]:
            org.assign_role(s, user.id, unit, "larare")
            org.assign_role(s, user.id, unit, "specialpedagog")
        user_id = user.id
    with engine.db.write_engine.begin() as conn:
        first = (conn.execute(text("SELECT coalesce(max(id), 0) FROM cases")).scalar() or 0) + 1
        for start in range(0, count, batch):
            ids = range(first + start, first + min(start + batch, count))
            conn.execute(insert(Case.__table__), [
                {"id": i, "process_version_id": version_id, "process_key": "bulk",
                 "pupil_id": pupil_ids[i % units], "unit_id": unit_ids[i % units], "status": "running",
                 "started_at": now, "row_version": 1, "serializer_version": "1.5", "state": b"{}"}
                for i in ids])
            conn.execute(insert(TaskRow.__table__), [
                {"id": uuid.uuid4(), "case_id": i, "process_key": "bulk", "bpmn_id": "Task_utredning",
                 "name": "Utred behovet", "role": ROLES[i % len(ROLES)], "unit_id": unit_ids[i % units],
                 "pupil_id": pupil_ids[i % units], "assignee_id": user_id if i % 997 == 0 else None,
                 "state": "ready", "form": "svar.json", "created_at": now,
                 "due_at": now + timedelta(days=i % 30), "notice_at": now + timedelta(days=i % 30, hours=1),
                 "notice_level": 0} for i in ids])
            if timers_in is not None:
                conn.execute(insert(Timer.__table__), [
                    {"case_id": i, "bpmn_id": "Timer_frist",
                     "due_at": now + timers_in + timedelta(minutes=i % 600)} for i in ids])
        if engine.db.dialect == "postgresql":
            conn.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
    with engine.db.write_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return user_id


def fill_closed_tasks(engine: Engine, count: int, *, per_case: int = 5, sent_emails: int = 0) -> None:
    """Insert `count` closed task rows (completed, every fifth cancelled) of ended cases, `per_case` to a
    case, with the notice times and assignees years of use leave behind, and `sent_emails` sent e-mails.
    Generated inside the database (a million rows take seconds, not minutes); like fill_open_cases, the
    ended cases' state is a placeholder that nothing measured reads."""
    cases = -(-count // per_case)
    with engine.db.write() as s:
        version_id = s.execute(text("SELECT id FROM process_versions ORDER BY id LIMIT 1")).scalar()
        unit = org.add_unit(s, uuid.uuid4().hex[:12], "Historikskolan")
        pupil = org.add_pupil(s, unit.id, "Tidigare", "Elev")
        user = org.add_user(s, uuid.uuid4().hex, "Historik")
        org.assign_role(s, user.id, unit.id, "specialpedagog")
        ids = {"version": version_id, "unit": unit.id, "pupil": pupil.id, "user": user.id}
    sqlite = engine.db.dialect == "sqlite"
    then = "'2020-08-17 08:00:00.000000'" if sqlite else "timestamptz '2020-08-17 08:00:00+00'"
    series = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
              "SELECT i FROM n") if sqlite else "SELECT generate_series(1, {count}) AS i"
    task_id = "lower(hex(randomblob(16)))" if sqlite else "gen_random_uuid()"
    with engine.db.write_engine.begin() as conn:
        first = (conn.execute(text("SELECT coalesce(max(id), 0) FROM cases")).scalar() or 0) + 1
        conn.execute(text(f"""INSERT INTO cases (id, process_version_id, process_key, pupil_id, unit_id,
            status, started_at, ended_at, row_version, serializer_version, state)
            SELECT {first} + i, :version, 'historik', :pupil, :unit, 'completed', {then}, {then}, 6, '1.5',
            :blob
            FROM ({series.format(count=cases)}) AS s"""), {**ids, "blob": b"{}"})
        conn.execute(text(f"""INSERT INTO tasks (id, case_id, process_key, bpmn_id, name, role, unit_id,
            pupil_id, assignee_id, state, form, created_at, due_at, completed_at, completed_by, notice_at,
            notice_level)
            SELECT {task_id}, {first} + 1 + (i - 1) / {per_case}, 'historik', 'Task_' || (i % {per_case}),
            'Avslutad uppgift', 'specialpedagog', :unit, :pupil, :user,
            CASE WHEN i % 5 = 0 THEN 'cancelled' ELSE 'completed' END, 'svar.json', {then}, {then}, {then},
            :user, {then}, 1 FROM ({series.format(count=count)}) AS s"""), ids)
        if sent_emails:
            conn.execute(text(f"""INSERT INTO outgoing_emails (to_address, subject, body, created_at,
                send_after, sent_at, attempts)
                SELECT 'historik@example.se', 'Elevflow', 'Skickat', {then}, {then}, {then}, 1
                FROM ({series.format(count=sent_emails)}) AS s"""))
        if engine.db.dialect == "postgresql":
            conn.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
    with engine.db.write_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def chain_people(engine: Engine) -> tuple[int, int]:
    """Migrate, and add one unit with a person holding every role the chain's lanes need and a pupil:
    (user id, pupil id)."""
    upgrade(engine)
    with engine.db.write() as s:
        unit = org.add_unit(s, uuid.uuid4().hex[:12], "Benchskolan")
        user = org.add_user(s, uuid.uuid4().hex, "Bench")
        for role in ("larare", "specialpedagog", "rektor"):
            org.assign_role(s, user.id, unit.id, role)
        pupil = org.add_pupil(s, unit.id, "Bench", "Elev")
        return user.id, pupil.id


def ready_task(engine: Engine, case_id: int) -> uuid.UUID | None:
    """The id of the case's open task (the chain has one at a time)."""
    tasks = TaskRow.__table__
    with engine.db.read() as s:
        return s.execute(select(tasks.c.id).where(tasks.c.case_id == case_id,
                                                  tasks.c.state == "ready")).scalar()
