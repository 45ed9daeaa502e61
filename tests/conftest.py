"""Shared fixtures. Every `db` test runs twice: on SQLite and on PostgreSQL.

PostgreSQL is reached at ELEVFLOW_TEST_POSTGRES_URL (default: the local server, database
elevflow_test, created if missing). When it cannot be reached, its half of the tests is skipped — unless
ELEVFLOW_TEST_REQUIRE_POSTGRES=1 (as CI sets), when they fail instead.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from elevflow.engine import Engine, deploy_path, list_tasks, settings, sign_decision, upgrade
from elevflow.engine.expressions import evalpool
from elevflow.engine.org import records as org

T = TypeVar("T")
# A teacher's report to the rektor that the test support chain (fixtures/stodkedja) accepts.
REPORT = {"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt och tappar fokus."}
FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("ELEVFLOW_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/elevflow_test")
REQUIRE_POSTGRES = os.environ.get("ELEVFLOW_TEST_REQUIRE_POSTGRES") == "1"
TABLES = ["version_readers", "routine_drafts", "access_log", "login_attempts", "saved_filters",
          "decision_records", "follow_ups", "medical_releases", "task_drafts", "audit_events",
          "notifications", "outgoing_emails", "timers", "diary_counters", "case_attachments", "case_events",
          "service_status",
          "tasks", "cases", "process_versions", "delegations", "school_breaks", "pupil_guardians",
          "guardians", "role_assignments", "pupils", "users", "school_units", "organisers"]


def _prepare_postgres() -> str | None:
    """Create (or empty) the test database and migrate it; return why not, if it cannot be reached."""
    url = make_url(POSTGRES_URL)
    try:
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        return f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {exc}"
    sa_engine = create_engine(url)
    with sa_engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    sa_engine.dispose()
    database = Engine.from_settings(database_url=POSTGRES_URL)
    upgrade(database)
    database.close()
    return None


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """An app built as in production configures the process's logging (elevflow.engine.logs): undone after the
    test, so later tests log as pytest set up."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    why_not = _prepare_postgres()
    if why_not:
        if REQUIRE_POSTGRES:
            pytest.fail(why_not)
        pytest.skip(why_not)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty SQLite database, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Engine.from_settings(database_url=f"sqlite:///{path}")
    upgrade(database)
    with database.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "elevflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    sa_engine = create_engine(url)
    with sa_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h WHERE id = 1"), {"h": bytes(32)})
    sa_engine.dispose()
    return url


@pytest.fixture(scope="session")
def workers():
    """One pool of evaluation workers for the whole run, shared by the engines the fixtures make (each
    process shares one in production too; starting workers for every test would be slow)."""
    shared = evalpool.Pool(evalpool.Limits.of(settings.load()))
    yield shared
    shared.close()


@pytest.fixture
def engine(db_url: str, workers):
    database = Engine.from_settings(database_url=db_url, workers=workers)
    yield database
    database.close()


@pytest.fixture
def evaluator():
    """An engine for what needs no database (the script engine and its evaluation workers): its
    database is an in-memory SQLite nobody opens."""
    built = Engine.from_settings(database_url="sqlite://")
    yield built
    built.close()


def ready(engine: Engine, case_id: int) -> list:
    """A case's open task rows."""
    return list_tasks(engine, case_id=case_id, state="ready")


def sign(engine: Engine, task_id: Any, data: dict, *, by: int) -> Any:
    """Sign a decision task as `by`, just re-authenticated (a decision is completed only by signing it)."""
    return sign_decision(engine, task_id, data, by=by,
                         reauthenticated_at=datetime.now(timezone.utc)).completed


def concurrently(db_url: str, work: Callable[[Engine], T], count: int = 2) -> list[T | BaseException]:
    """Run `work` in `count` threads released at one moment, each with its own Database (its own pool,
    like separate workers or hosts); return what each returned or the exception it raised."""
    barrier = threading.Barrier(count)
    outcomes: list[T | BaseException] = []

    def one() -> None:
        database = Engine.from_settings(database_url=db_url)
        try:
            barrier.wait()
            outcomes.append(work(database))
        except BaseException as exc:  # handed back to the test, which asserts on it
            outcomes.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@dataclass
class Org:
    """Three kinds of people for every access test: the unit's staff, and an outsider at another unit."""

    unit: int
    other_unit: int
    teacher: int
    mentor: int
    specialpedagog: int
    rektor: int
    outsider: int
    pupil: int
    other_pupil: int


@pytest.fixture
def people(engine: Engine) -> Org:
    with engine.db.write() as s:
        kommun = org.add_organiser(s, "Exempelby kommun")
        a = org.add_unit(s, "10000001", "Ekskolan", kommun.id, "Box 12, 123 45 Exempelby")
        b = org.add_unit(s, "10000002", "Björkskolan", kommun.id)  # no postal address recorded
        ids = {}
        for username, role, unit in [("teacher", "larare", a), ("mentor", "mentor", a),
                                     ("specialpedagog", "specialpedagog", a), ("rektor", "rektor", a),
                                     ("outsider", "larare", b)]:
            user = org.add_user(s, username, username.title(), f"{username}@example.se")
            org.assign_role(s, user.id, unit.id, role)
            ids[username] = user.id
        pupil = org.add_pupil(s, a.id, "Alva", "Andersson", "7B")
        other = org.add_pupil(s, b.id, "Bo", "Berg", "8A")
        return Org(unit=a.id, other_unit=b.id, pupil=pupil.id, other_pupil=other.id, **ids)


@pytest.fixture
def chain(engine: Engine):
    """The test support chain deployed: three user tasks, a gateway and a boundary timer."""
    return deploy_path(engine, FIXTURES / "stodkedja", shared_dir=FIXTURES / "shared")[0]
