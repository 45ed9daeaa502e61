"""Hostile or careless routines published through the process editor (issue 13, points 1, 2 and 4).

Each is either refused at publish with a problem that names its element, or — when only running it can
tell — published, and then the step that meets it stops with an error the case shows and audits, while
nothing else changes and other users' requests keep being answered (on the embedded server and on
gunicorn with two workers, measured with concurrent requests while the hostile evaluation runs).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from hostile_routines import (
    AT_RUN_TIME,
    SLOW,
    into,
    multi_instance,
    parallel_cycle,
    standard_loop,
    timer,
    with_due_rule,
)
from sqlalchemy import text as sql

from elevflow.engine import start_case
from elevflow.engine.routines.editing import newest_version
from elevflow.engine.runtime import tasks
from elevflow.engine.storage import audit
from elevflow.webui import close_app, create_app

from .conftest import PASSWORD, SECRET, TOKEN, login, post, publish, text

ROOT = Path(__file__).resolve().parents[2]
ANSWER = {"f.anmalan_datum": "2026-11-20", "f.beskrivning": "Läser långsamt och tappar fokus."}
NORMAL_TIME = 2.0  # seconds: generous for a login page, far below any hostile evaluation left unbounded


@pytest.fixture
def editor(browser):
    """The process owner's logged-in client (tests/web/conftest.py), who publishes the routines."""
    return browser


REFUSED = {
    "timer_of_a_billion_years": (lambda x: into(x, timer("P999999999Y")), "H_in", "högst 10 år"),
    "due_rule_of_a_billion_years": (lambda x: with_due_rule(x, "P999999999Y"), "Task_utredning",
                                    "för lång för en tidsfrist: högst 10 år"),
    "loop_maximum_of_1000": (lambda x: into(x, standard_loop(maximum=1000)), "H_loop", "högst 100 varv"),
    "cardinality_of_10000": (lambda x: into(x, multi_instance("10000")), "H_in", "högst 100 instanser"),
    "bad_loop_condition": (lambda x: into(x, standard_loop("n.__class__ is None")), "H_loop",
                           "slingans villkor godtogs inte"),
    "loop_condition_that_imports": (lambda x: into(x, standard_loop("__import__('os')")), "H_loop",
                                    "slingans villkor godtogs inte"),
    "parallel_cycle": (lambda x: into(x, parallel_cycle()), "stodkedja", "kunde inte ens starta"),
}
#: What the (Swedish) pages say for an error the engine gives a code (engine.codes); the others show the
#: sandbox's or worker's own English text
SHOWN = {"merge_split_loop": "rutinen verkar gå runt utan slut"}


@pytest.mark.parametrize("name", REFUSED)
def test_a_hostile_routine_is_refused_at_publish_with_a_clear_problem(editor, chain, engine, name):
    change, element, problem = REFUSED[name]
    page = publish(editor, chain, change, note="Fientlig")
    assert "publicerades inte" in page and element in page and problem in page
    assert newest_version(engine, "stodkedja").version == 1  # nothing was published


def snapshot(engine, case_id: int) -> tuple[Any, ...]:
    """Everything a step could change about a case, but its error and its step_failed events."""
    where = {"id": case_id}
    with engine.db.read() as s:
        case = s.execute(sql("SELECT state, row_version, status FROM cases WHERE id = :id"), where).one()
        rows = s.execute(sql("SELECT id, state, assignee_id, data FROM tasks WHERE case_id = :id "
                             "ORDER BY id"), where).all()
        timers = s.execute(sql("SELECT bpmn_id, due_at FROM timers WHERE case_id = :id ORDER BY bpmn_id"),
                           where).all()
        cases = s.execute(sql("SELECT count(*) FROM cases")).scalar()
    kinds = [e.kind for e in audit.events(engine, case_id=case_id) if e.kind != "step_failed"]
    return bytes(case.state), case.row_version, case.status, [tuple(r) for r in rows], timers, cases, kinds


def ready(engine, case_id: int) -> list:
    return tasks.list_tasks(engine, case_id=case_id, state="ready")


def error_of(engine, case_id: int) -> str | None:
    with engine.db.read() as s:
        return s.execute(sql("SELECT error FROM cases WHERE id = :id"), {"id": case_id}).scalar()


@pytest.mark.parametrize("name", AT_RUN_TIME)
def test_a_hostile_routine_caught_at_run_time_stops_its_case_visibly_and_changes_nothing(
        app, editor, chain, engine, people, name):
    fragment, said = AT_RUN_TIME[name]
    assert "är publicerad" in publish(editor, chain, lambda x: into(x, fragment), note="Fientlig")
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    task = ready(engine, case.id)[0]
    before = snapshot(engine, case.id)
    teacher = app.test_client()
    login(teacher, "teacher")

    response = post(teacher, f"/uppgifter/{task.id}", ANSWER)

    assert response.status_code == 422 and "rutinen stannade på ett fel" in text(response)
    assert "Läser långsamt och tappar fokus." in text(response)  # what the teacher wrote is still there
    assert snapshot(engine, case.id) == before  # the failing step left nothing behind
    assert said in error_of(engine, case.id)
    failed = [e for e in audit.events(engine, case_id=case.id) if e.kind == "step_failed"]
    assert len(failed) == 1 and said in failed[0].data["message"] and failed[0].actor_id == people.teacher
    rektor = app.test_client()
    login(rektor, "rektor")
    page = text(rektor.get(f"/arenden/{case.id}"))
    shown = SHOWN.get(name, said)
    assert "Ärendet har stannat" in page and shown in page and "Ärendet stannade" in page  # box and timeline
    owners_page = text(editor.get("/rutiner/stodkedja"))  # the process owner sees it without pupil data
    assert "har stannat på ett fel i rutinen" in owners_page and f"#{case.id}" in owners_page
    assert shown in owners_page and "Alva" not in owners_page


def test_a_later_step_that_succeeds_clears_the_error(app, engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    with engine.db.write() as s:
        s.execute(sql("UPDATE cases SET error = 'gammalt fel' WHERE id = :id"), {"id": case.id})
    teacher = app.test_client()
    login(teacher, "teacher")
    done = post(teacher, f"/uppgifter/{ready(engine, case.id)[0].id}", ANSWER)
    assert done.status_code == 302 and error_of(engine, case.id) is None


# --- other users' requests while a hostile evaluation runs ----------------------------------------------

def _session(site: str, username: str) -> requests.Session:
    http = requests.Session()
    token = TOKEN.search(http.get(f"{site}/logga-in", timeout=30).text).group(1)
    response = http.post(f"{site}/logga-in", data={"csrf_token": token, "username": username,
                                                   "password": PASSWORD}, allow_redirects=False, timeout=30)
    assert response.status_code == 302
    return http


def _complete(http: requests.Session, site: str, task_id: Any) -> requests.Response:
    page = http.get(f"{site}/uppgifter/{task_id}", timeout=30).text
    form = {"csrf_token": TOKEN.search(page).group(1), **ANSWER}
    return http.post(f"{site}/uppgifter/{task_id}", data=form, allow_redirects=False, timeout=60)


def answered_meanwhile(site: str, hostile: Callable[[], requests.Response]) -> tuple[requests.Response,
                                                                                       list[float]]:
    """Run `hostile` in a thread; until it returns, another user asks for pages, one after another.
    Returns its response and how long each other request took."""
    other = _session(site, "mentor")
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(response=hostile()))
    thread.start()
    times = []
    try:
        while thread.is_alive():
            started = time.monotonic()
            page = other.get(f"{site}/uppgifter", timeout=30)
            times.append(time.monotonic() - started)
            assert page.status_code == 200
            static = other.get(f"{site}/static/elevflow.css", timeout=30)
            assert static.status_code == 200
    finally:
        thread.join()
        other.close()
    return result["response"], times


@contextmanager
def embedded(db_url: str) -> Iterator[str]:
    """The web app on Werkzeug's threaded server (what `elevflow demo` runs), in this process."""
    from werkzeug.serving import make_server
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET,
                      "EMBEDDED_SCHEDULER": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        close_app(app)


@contextmanager
def gunicorn(db_url: str) -> Iterator[str]:
    """The web app under gunicorn, two workers of two threads each, forked after loading the app
    (--preload); the socket is bound here first, so requests simply wait until a worker is up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    env = {**os.environ, "ELEVFLOW_DATABASE_URL": db_url, "ELEVFLOW_SECRET_KEY": SECRET,
           "ELEVFLOW_EMBEDDED_SCHEDULER": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "--threads", "2", "-b",
         f"fd://{listener.fileno()}", "--log-level", "warning", "elevflow.webui:create_app()"],
        cwd=ROOT, env=env, pass_fds=[listener.fileno()])
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.terminate()
        server.wait(60)
        listener.close()


SERVERS = {"embedded": embedded, "gunicorn": gunicorn}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("name", SLOW)
def test_other_users_are_answered_while_a_hostile_evaluation_runs(editor, chain, engine, db_url, people,
                                                                  server,
                                                                   name):
    fragment, said = AT_RUN_TIME[name]
    assert "är publicerad" in publish(editor, chain, lambda x: into(x, fragment), note="Fientlig")
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    task = ready(engine, case.id)[0]
    before = snapshot(engine, case.id)
    with SERVERS[server](db_url) as site:
        teacher = _session(site, "teacher")
        response, times = answered_meanwhile(site, lambda: _complete(teacher, site, task.id))
        teacher.close()
    assert response.status_code == 422
    assert len(times) >= 3 and max(times) < NORMAL_TIME, times  # answered all along, each in normal time
    assert snapshot(engine, case.id) == before and said in error_of(engine, case.id)


def test_a_stopped_case_says_its_error_in_the_readers_language(app, editor, chain, engine, people):
    """The error is kept as a code (cases.error_code) beside its English text: each reader gets theirs."""
    fragment, said = AT_RUN_TIME["merge_split_loop"]
    assert "är publicerad" in publish(editor, chain, lambda x: into(x, fragment), note="Fientlig")
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    teacher = app.test_client()
    login(teacher, "teacher")
    assert post(teacher, f"/uppgifter/{ready(engine, case.id)[0].id}", ANSWER).status_code == 422
    assert said in error_of(engine, case.id)  # the English text stays for logs and the command line
    rektor = app.test_client()
    login(rektor, "rektor")
    assert SHOWN["merge_split_loop"] in text(rektor.get(f"/arenden/{case.id}"))
    post(rektor, "/sprak", {"lang": "en", "next": "/uppgifter"})
    page = text(rektor.get(f"/arenden/{case.id}"))
    assert "the routine seems to loop without end" in page and SHOWN["merge_split_loop"] not in page
