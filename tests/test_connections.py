"""Pooled connections on PostgreSQL: a connection the server closed, or one that broke in use, is never
handed to a step again, though the pool pings a connection only when a ping can tell something
(store.py, `_postgres_engine`)."""
from __future__ import annotations

import time

import psycopg
import pytest
from conftest import REPORT, ready
from sqlalchemy import create_engine, text

from elevflow.engine import complete_task, start_case
from elevflow.engine.storage import store
from elevflow.engine.storage.dbapi import Sql

BACKEND = Sql("SELECT pg_backend_pid()")


@pytest.fixture
def on_postgres(engine):
    if engine.db.dialect == "sqlite":
        pytest.skip("PostgreSQL's connection pool")
    return engine


def backend(engine) -> int:
    """The server process of the connection the pool hands out next."""
    with engine.db.snapshot() as tx:
        return tx.scalar(BACKEND)


def backends(engine) -> set[int]:
    """The server processes of every connection to the test database but the one asking."""
    admin = create_engine(engine.db.url)
    with admin.connect() as conn:
        found = set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid()")).scalars())
    admin.dispose()
    return found


def terminate(engine, pids: set[int]) -> None:
    """End server processes from outside, as an administrator or a restart would, and wait until the
    server has closed their connections."""
    admin = create_engine(engine.db.url)
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    admin.dispose()


def test_a_connection_the_server_closed_while_pooled_is_replaced_not_used(on_postgres, people, chain):
    engine = on_postgres
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    task = ready(engine, case.id)[0].id
    old = backends(engine)
    assert old  # the pool's connections, idle
    terminate(engine, old)
    # at once, well within the second in which a recently used connection is not pinged
    done = complete_task(engine, task, REPORT, by=people.teacher)
    assert done.case_row_version == 2
    assert not backends(engine) & old


def test_a_connection_that_broke_in_a_step_is_not_handed_out_again(on_postgres, people, chain):
    engine = on_postgres
    start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    with pytest.raises(psycopg.OperationalError), engine.db.transaction(together=True) as tx:
        old = tx.scalar(BACKEND)
        terminate(engine, {old})
        tx.scalar(BACKEND)  # the server is gone: this fails, and the step with it
    for _ in range(3):  # whichever pooled connection comes next, the broken one is none of them
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        assert case.row_version == 1
    assert old not in backends(engine)


def test_a_connection_is_pinged_only_after_sitting_idle(on_postgres, people, chain, monkeypatch):
    engine = on_postgres
    start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    engine.db.engine.pool.dispose()  # from here on the pool holds one connection
    pid = backend(engine)
    with engine.db.snapshot():  # handed out again at once: no ping
        assert last_statement(engine, pid) == BACKEND.text
    monkeypatch.setattr(store, "PING_AFTER_IDLE", 0.05)
    time.sleep(0.1)
    with engine.db.snapshot():  # handed out after sitting idle: pinged first
        assert last_statement(engine, pid) == PING
    assert backend(engine) == pid


PING = ";"  # what SQLAlchemy's psycopg dialect sends as its ping


def last_statement(engine, pid: int) -> str:
    """The last statement the server process `pid` ran, as the server's statistics show it."""
    admin = create_engine(engine.db.url)
    with admin.connect() as conn:
        found = conn.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :pid"),
                             {"pid": pid}).scalar()
    admin.dispose()
    return found
