"""HTTP benchmark: what completing a task costs a member of staff through the web app.

(a) One staff member on SQLite completes tasks over real HTTP (the app served in this process by
    werkzeug's threaded server): log in (with its CSRF token), then for each task open its page (which
    carries the CSRF token and the case's row version) and submit the form. Median and p95 per
    completion (open + submit), and the login itself.
(b) Several simulated staff at once against gunicorn with two workers on PostgreSQL (when gunicorn is
    installed — `pip install -e '.[bench]'` — and PostgreSQL answers): each starts a case, reads the
    inbox and completes the case's first task, in a loop. p50/p95 per request kind, errors, lost
    updates (a completion that returned success but whose task is not completed), inbox p95.
Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/http.py [--tasks N] [--staff N] [--rounds N]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
# This file is named http.py, so its own folder must come after the standard library's `http` package.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != HERE), str(HERE)]

import requests  # noqa: E402
from bulk import POSTGRES_URL, fresh_postgres  # noqa: E402
from sqlalchemy import text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from engine import Database, deploy_path, org, passwords, start_case, upgrade  # noqa: E402
from webui import close_app, create_app  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "stodkedja"
SECRET = "benchmark-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "ett långt lösenord för mätning"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW_VERSION = re.compile(r'name="_row_version" value="(\d+)"')
ANSWERS = {"Task_anmalan": {"f.anmalan_datum": "2026-11-20",
                            "f.beskrivning": "Läser långsamt och tappar fokus."},
           "Task_utredning": {"f.behov": "ja", "f.bedomning": "Behöver stöd i läsförståelse."},
           "Task_beslut": {"f.beslut": "atgardsprogram", "f.motivering": "Utredningen visar behov."}}


def organisation(db: Database, staff: int) -> tuple[list[str], int]:
    """`staff` people holding the three lanes' roles at one unit, with passwords; a pupil there."""
    upgrade(db)
    deploy_path(db, FIXTURE, shared_dir=FIXTURE / "none")
    names = []
    with db.write() as s:
        unit = org.add_unit(s, uuid.uuid4().hex[:12], "Mätskolan")
        for i in range(staff):
            user = org.add_user(s, f"staff{i}-{uuid.uuid4().hex[:6]}", f"Personal {i}")
            for role in ("larare", "specialpedagog", "rektor"):
                org.assign_role(s, user.id, unit.id, role)
            names.append(user.username)
        pupil = org.add_pupil(s, unit.id, "Mät", "Elev").id
    for name in names:
        passwords.set_password(db, name, PASSWORD)
    return names, pupil


def login(http: requests.Session, site: str, username: str) -> None:
    token = TOKEN.search(http.get(f"{site}/logga-in").text).group(1)
    response = http.post(f"{site}/logga-in", data={"csrf_token": token, "username": username,
                                                   "password": PASSWORD}, allow_redirects=False)
    assert response.status_code in (302, 303), response.status_code


def complete(http: requests.Session, site: str, task_id: str, bpmn_id: str) -> requests.Response:
    page = http.get(f"{site}/uppgifter/{task_id}")
    form = {"csrf_token": TOKEN.search(page.text).group(1), **ANSWERS[bpmn_id]}
    seen = ROW_VERSION.search(page.text)
    if seen:
        form["_row_version"] = seen.group(1)
    return http.post(f"{site}/uppgifter/{task_id}", data=form, allow_redirects=False)


def open_tasks(db: Database, case_ids: list[int]) -> list[tuple[str, str, int]]:
    with db.read() as s:
        rows = s.execute(text("SELECT id, bpmn_id, case_id FROM tasks WHERE state = 'ready'")).all()
    wanted = set(case_ids)
    return [(str(uuid.UUID(str(r.id))), r.bpmn_id, r.case_id) for r in rows if r.case_id in wanted]


def single_staff(tasks: int) -> dict:
    """(a): one person completing `tasks` tasks over HTTP on SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'http.db'}"
        db = Database(url)
        [username], pupil = organisation(db, 1)
        with db.read() as s:
            user_id = s.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar()
        cases = [start_case(db, "stodkedja", pupil_id=pupil, by=user_id).id for _ in range(tasks // 3 + 2)]
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "TESTING": False,
                          "EMBEDDED_SCHEDULER": False, "SESSION_COOKIE_SECURE": False})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        site = f"http://127.0.0.1:{server.server_port}"
        http = requests.Session()
        t0 = time.perf_counter()
        login(http, site, username)
        login_ms = (time.perf_counter() - t0) * 1000
        times, done = [], 0
        while done < tasks:
            batch = open_tasks(db, cases)
            if not batch:
                break
            for task_id, bpmn_id, _case in batch:
                t0 = time.perf_counter()
                response = complete(http, site, task_id, bpmn_id)
                times.append(time.perf_counter() - t0)
                assert response.status_code in (302, 303), (response.status_code, response.text[:300])
                done += 1
                if done >= tasks:
                    break
        server.shutdown()
        close_app(app)
        db.dispose()
    times_ms = sorted(t * 1000 for t in times[5:])  # the first few warm caches up
    return {"completions": len(times), "login_ms": login_ms, "median_ms": statistics.median(times_ms),
            "p95_ms": statistics.quantiles(times_ms, n=20)[-1]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def concurrent_staff(staff: int, rounds: int) -> dict | None:
    """(b): `staff` people at once against gunicorn with two workers on PostgreSQL."""
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    if not Path(gunicorn).exists():
        print("(gunicorn not installed: pip install -e '.[bench]'; skipping (b))", file=sys.stderr)
        return None
    db = fresh_postgres()
    if db is None:
        return None
    names, pupil = organisation(db, staff)
    port = free_port()
    env = {**os.environ, "ELEVFLOW_DATABASE_URL": POSTGRES_URL, "ELEVFLOW_SECRET_KEY": SECRET,
           "ELEVFLOW_EMBEDDED_SCHEDULER": "false", "ELEVFLOW_LOGIN_ATTEMPTS_PER_ADDRESS": "100000"}
    server = subprocess.Popen([gunicorn, "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "webui:create_app()"], cwd=ROOT, env=env)
    site = f"http://127.0.0.1:{port}"
    try:
        return _drive(db, site, names, pupil, rounds, staff)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        db.dispose()


def _drive(db: Database, site: str, names: list[str], pupil: int, rounds: int, staff: int) -> dict:
    for _ in range(300):  # the workers import the app and connect first
        try:
            requests.get(f"{site}/logga-in", timeout=5)
            break
        except requests.RequestException:
            time.sleep(0.1)
    times: dict[str, list[float]] = {"start": [], "inbox": [], "complete": []}
    errors: list[str] = []
    completed: list[str] = []
    lock = threading.Lock()
    pupil_row = pupil

    def person(username: str) -> None:
        http = requests.Session()
        try:
            login(http, site, username)
            for _ in range(rounds):
                token = TOKEN.search(http.get(f"{site}/elever?q=Mät").text).group(1)
                t0 = time.perf_counter()
                started = http.post(f"{site}/elever/{pupil_row}/starta",
                                    data={"csrf_token": token, "rutin": "stodkedja"}, allow_redirects=False)
                elapsed = time.perf_counter() - t0
                t0 = time.perf_counter()
                inbox = http.get(f"{site}/uppgifter")
                inbox_elapsed = time.perf_counter() - t0
                ids = re.findall(r'href="/uppgifter/([0-9a-f-]{36})"', inbox.text)
                with lock:
                    times["start"].append(elapsed)
                    times["inbox"].append(inbox_elapsed)
                if started.status_code not in (302, 303) or inbox.status_code != 200 or not ids:
                    with lock:
                        errors.append(f"start {started.status_code} inbox {inbox.status_code}")
                    continue
                for task_id in ids[:1]:
                    t0 = time.perf_counter()
                    response = complete(http, site, task_id, "Task_anmalan")
                    with lock:
                        times["complete"].append(time.perf_counter() - t0)
                        if response.status_code in (302, 303):
                            completed.append(task_id)
                        elif response.status_code != 409:  # a colleague took it first: not an error
                            errors.append(f"complete {response.status_code}")
        except Exception as exc:  # counted, and the benchmark goes on
            with lock:
                errors.append(repr(exc))

    people = [threading.Thread(target=person, args=(name,)) for name in names]
    t0 = time.perf_counter()
    for thread in people:
        thread.start()
    for thread in people:
        thread.join()
    wall = time.perf_counter() - t0
    with db.read() as s:
        rows = s.execute(text("SELECT id FROM tasks WHERE state = 'completed'")).scalars()
        done = {str(uuid.UUID(str(r))) for r in rows}
    lost = [t for t in completed if t not in done]

    def pct(values: list[float], q: int) -> float:
        ms = sorted(v * 1000 for v in values)
        return statistics.quantiles(ms, n=100)[q - 1] if len(ms) > 1 else (ms[0] if ms else 0.0)

    return {"staff": staff, "rounds": rounds, "seconds": wall, "errors": len(errors),
            "error_samples": errors[:3],
            "lost_updates": len(lost), **{f"{kind}_p50_ms": pct(v, 50) for kind, v in times.items()},
            **{f"{kind}_p95_ms": pct(v, 95) for kind, v in times.items()},
            "requests": sum(len(v) for v in times.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = {"single": single_staff(args.tasks), "concurrent": concurrent_staff(args.staff, args.rounds)}
    single = results["single"]
    print(f"HTTP benchmark\n\n(a) one member of staff on SQLite, {single['completions']} completions "
          f"(open the task page, submit the form)")
    print(f"    login {single['login_ms']:.1f} ms; per completion median {single['median_ms']:.2f} ms, "
          f"p95 {single['p95_ms']:.2f} ms   (targets: median <= 10 ms, p95 <= 20 ms)")
    concurrent = results["concurrent"]
    if concurrent:
        print(f"\n(b) {concurrent['staff']} staff at once, gunicorn with 2 workers, PostgreSQL, "
              f"{concurrent['requests']} timed requests in {concurrent['seconds']:.1f} s")
        print(f"    {'':10}{'p50':>10}{'p95':>10}")
        for kind in ("start", "inbox", "complete"):
            p50, p95 = concurrent[kind + "_p50_ms"], concurrent[kind + "_p95_ms"]
            print(f"    {kind:10}{p50:>8.1f}ms{p95:>8.1f}ms")
        print(f"    errors {concurrent['errors']} (target 0), lost updates {concurrent['lost_updates']} "
              f"(target 0), inbox p95 {concurrent['inbox_p95_ms']:.1f} ms (target < 150 ms)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
