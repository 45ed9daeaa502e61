"""HTTP benchmark: what completing a task costs a member of staff through the web app.

The app runs under gunicorn in its own processes, as in production; the simulated staff are other
processes, so the two do not share an interpreter (they do share the machine's cores).

(a) One staff member on SQLite (gunicorn, one worker): log in (with its CSRF token), then for each task
    open its page (which carries the CSRF token and the case's row version) and submit the form, without
    following the redirect. Median and p95 per completion (open + submit). Signing a decision is timed
    apart: it checks the password again (argon2, on purpose slow), so it is no ordinary completion.
(b) Simulated staff at once against gunicorn with two workers on PostgreSQL: all log in at once (the
    morning rush: argon2 is slow on purpose, so the logins are timed as their own kind), and when every
    one is in, each in a loop starts a case, reads the inbox and completes the first task found there,
    pausing between actions as a person does (the think time, uniformly 0.5–1.5 × --think seconds).
    p50/p95 per request kind, errors, lost updates (a completion that returned success but whose task is
    not completed), inbox p95.
Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/web_load.py [--tasks N] [--staff N] [--rounds N] [--think SECONDS] [--clients N]
       [--only a|b]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import requests  # noqa: E402
from bulk import POSTGRES_URL, fresh_postgres  # noqa: E402
from sqlalchemy import text  # noqa: E402

from elevflow.engine import Engine, deploy_path, start_case, upgrade  # noqa: E402
from elevflow.engine.org import passwords  # noqa: E402
from elevflow.engine.org import records as org  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "stodkedja"
SECRET = "benchmark-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "ett långt lösenord för mätning"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW_VERSION = re.compile(r'name="_row_version" value="(\d+)"')
FIRST_STEP = re.compile(r'href="/uppgifter/([0-9a-f-]{36})">Anmäl till rektor<')
ANSWERS = {"Task_anmalan": {"f.anmalan_datum": "2026-11-20",
                            "f.beskrivning": "Läser långsamt och tappar fokus."},
           "Task_utredning": {"f.behov": "ja", "f.bedomning": "Behöver stöd i läsförståelse."},
           "Task_beslut": {"f.beslut": "atgardsprogram", "f.motivering": "Utredningen visar behov.",
                           "_sign": "1", "_password": PASSWORD}}


def organisation(engine: Engine, staff: int) -> tuple[list[str], int]:
    """`staff` people holding the three lanes' roles at one unit, with passwords; a pupil there."""
    upgrade(engine)
    deploy_path(engine, FIXTURE, shared_dir=FIXTURE / "none")
    names = []
    with engine.db.write() as s:
        unit = org.add_unit(s, uuid.uuid4().hex[:12], "Mätskolan")
        for i in range(staff):
            user = org.add_user(s, f"staff{i}-{uuid.uuid4().hex[:6]}", f"Personal {i}")
            for role in ("larare", "specialpedagog", "rektor"):
                org.assign_role(s, user.id, unit.id, role)
            names.append(user.username)
        pupil = org.add_pupil(s, unit.id, "Mät", "Elev").id
    for name in names:
        passwords.set_password(engine, name, PASSWORD)
    return names, pupil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn() -> str | None:
    found = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    return found if Path(found).exists() else None


@contextmanager
def served(url: str, workers: int, threads: int) -> Iterator[str]:
    """The app under gunicorn on a free local port, on the database at `url`; yields the site's address."""
    port = free_port()
    env = {**os.environ, "ELEVFLOW_DATABASE_URL": url, "ELEVFLOW_SECRET_KEY": SECRET,
           "ELEVFLOW_EMBEDDED_SCHEDULER": "false", "ELEVFLOW_LOGIN_ATTEMPTS_PER_ADDRESS": "100000"}
    server = subprocess.Popen([gunicorn(), "-w", str(workers), "--threads", str(threads), "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "elevflow.webui:create_app()"],
                              cwd=ROOT, env=env)
    site = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # the workers import the app and connect first
            try:
                requests.get(f"{site}/logga-in", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield site
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def login(http: requests.Session, site: str, username: str) -> None:
    token = TOKEN.search(http.get(f"{site}/logga-in").text).group(1)
    response = http.post(f"{site}/logga-in", data={"csrf_token": token, "username": username,
                                                   "password": PASSWORD}, allow_redirects=False)
    assert response.status_code in (302, 303), response.status_code


def complete(http: requests.Session, site: str, task_id: str, bpmn_id: str) -> requests.Response:
    """Open the task's page and submit its form (a decision: signed, with the password)."""
    page = http.get(f"{site}/uppgifter/{task_id}")
    form = {"csrf_token": TOKEN.search(page.text).group(1), **ANSWERS[bpmn_id]}
    seen = ROW_VERSION.search(page.text)
    if seen:
        form["_row_version"] = seen.group(1)
    return http.post(f"{site}/uppgifter/{task_id}", data=form, allow_redirects=False)


def open_tasks(engine: Engine) -> list[tuple[str, str]]:
    with engine.db.read() as s:
        rows = s.execute(text("SELECT id, bpmn_id FROM tasks WHERE state = 'ready' ORDER BY created_at"))
        return [(str(uuid.UUID(str(r.id))), r.bpmn_id) for r in rows]


def pct(values: list[float], q: int) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    ms = sorted(v * 1000 for v in values)
    if len(ms) < 2:
        return ms[0] if ms else 0.0
    return statistics.quantiles(ms, n=100)[q - 1]


def single_staff(tasks: int) -> dict | None:
    """(a): one person completing `tasks` tasks over HTTP on SQLite."""
    if gunicorn() is None:
        print("(gunicorn not installed: pip install -e '.[bench]'; skipping (a))", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'http.db'}"
        engine = Engine.from_settings(database_url=url)
        [username], pupil = organisation(engine, 1)
        with engine.db.read() as s:
            user_id = s.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar()
        for _ in range(tasks // 2):
            start_case(engine, "stodkedja", pupil_id=pupil, by=user_id)
        times: dict[str, list[float]] = {"complete": [], "sign": []}
        with served(url, workers=1, threads=1) as site:
            http = requests.Session()
            t0 = time.perf_counter()
            login(http, site, username)
            login_ms = (time.perf_counter() - t0) * 1000
            while batch := open_tasks(engine):  # every case to its end: two completions and a signing each
                for task_id, bpmn_id in batch:
                    t0 = time.perf_counter()
                    response = complete(http, site, task_id, bpmn_id)
                    elapsed = time.perf_counter() - t0
                    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
                    times["sign" if bpmn_id == "Task_beslut" else "complete"].append(elapsed)
        engine.close()
    done = times["complete"][5:]  # the first few warm the worker's caches up
    return {"completions": len(times["complete"]), "login_ms": login_ms,
            "median_ms": statistics.median(done) * 1000, "p95_ms": pct(done, 95),
            "signings": len(times["sign"]), "sign_median_ms": statistics.median(times["sign"]) * 1000}


# --- (b) --------------------------------------------------------------------------------------------------

KINDS = ("login", "start", "inbox", "complete")


def _person(site: str, username: str, pupil: int, rounds: int, think: float, seed: int,
            everyone_in: threading.Barrier) -> dict:
    """One member of staff: log in, wait until everyone is in, then `rounds` times start a case, read
    the inbox, complete a task."""
    pause = random.Random(seed)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    errors: list[str] = []
    completed: list[str] = []

    def rest() -> None:
        time.sleep(think * pause.uniform(0.5, 1.5))

    http = requests.Session()
    try:
        t0 = time.perf_counter()
        try:
            login(http, site, username)
            times["login"].append(time.perf_counter() - t0)
        finally:
            everyone_in.wait(300)
        for _ in range(rounds):
            rest()
            token = TOKEN.search(http.get(f"{site}/elever?q=Mät").text).group(1)
            t0 = time.perf_counter()
            started = http.post(f"{site}/elever/{pupil}/starta", allow_redirects=False,
                                data={"csrf_token": token, "rutin": "stodkedja"})
            times["start"].append(time.perf_counter() - t0)
            rest()
            t0 = time.perf_counter()
            inbox = http.get(f"{site}/uppgifter")
            times["inbox"].append(time.perf_counter() - t0)
            ids = FIRST_STEP.findall(inbox.text)  # the reports (the staff serve every lane of the routine)
            if started.status_code not in (302, 303) or inbox.status_code != 200 or not ids:
                errors.append(f"start {started.status_code} inbox {inbox.status_code}")
                continue
            rest()
            t0 = time.perf_counter()
            response = complete(http, site, ids[0], "Task_anmalan")
            times["complete"].append(time.perf_counter() - t0)
            if response.status_code in (302, 303):
                completed.append(ids[0])
            elif response.status_code != 409:  # a colleague took it first: not an error
                errors.append(f"complete {response.status_code}")
    except Exception as exc:  # counted, and the benchmark goes on
        errors.append(repr(exc))
    return {"times": times, "errors": errors, "completed": completed}


def _client(args: tuple[str, list[str], int, int, float, threading.Barrier]) -> dict:
    """One client process: a thread per member of staff it plays."""
    site, names, pupil, rounds, think, everyone_in = args
    results: list[dict] = []
    threads = [threading.Thread(target=lambda n=name, i=i: results.append(
        _person(site, n, pupil, rounds, think, i, everyone_in))) for i, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"times": {k: [t for r in results for t in r["times"][k]] for k in KINDS},
            "errors": [e for r in results for e in r["errors"]],
            "completed": [c for r in results for c in r["completed"]]}


def concurrent_staff(staff: int, rounds: int, think: float, clients: int) -> dict | None:
    """(b): `staff` people at once against gunicorn with two workers on PostgreSQL."""
    if gunicorn() is None:
        print("(gunicorn not installed: pip install -e '.[bench]'; skipping (b))", file=sys.stderr)
        return None
    engine = fresh_postgres()
    if engine is None:
        return None
    names, pupil = organisation(engine, staff)
    try:
        with served(POSTGRES_URL, workers=2, threads=8) as site:
            shares = [names[i::clients] for i in range(clients)]
            t0 = time.perf_counter()
            context = multiprocessing.get_context("spawn")
            with context.Manager() as manager, context.Pool(clients) as pool:
                everyone_in = manager.Barrier(len(names))
                parts = pool.map(_client, [(site, share, pupil, rounds, think, everyone_in)
                                           for share in shares if share])
            wall = time.perf_counter() - t0
        with engine.db.read() as s:
            done = {str(uuid.UUID(str(r)))
                    for r in s.execute(text("SELECT id FROM tasks WHERE state = 'completed'")).scalars()}
    finally:
        engine.close()
    times = {k: [t for p in parts for t in p["times"][k]] for k in KINDS}
    errors = [e for p in parts for e in p["errors"]]
    lost = [t for p in parts for t in p["completed"] if t not in done]
    return {"staff": staff, "rounds": rounds, "think_s": think, "client_processes": clients, "seconds": wall,
            "errors": len(errors), "error_samples": errors[:3], "lost_updates": len(lost),
            **{f"{kind}_p50_ms": pct(v, 50) for kind, v in times.items()},
            **{f"{kind}_p95_ms": pct(v, 95) for kind, v in times.items()},
            "inbox_p95_ms": pct(times["inbox"], 95),
            "requests": sum(len(v) for kind, v in times.items() if kind != "login")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a person's actions (s)")
    parser.add_argument("--clients", type=int, default=5, help="client processes sharing the staff")
    parser.add_argument("--only", choices=["a", "b"], help="run only part (a) or (b)")
    args = parser.parse_args()
    results = {"single": single_staff(args.tasks) if args.only != "b" else None,
               "concurrent": concurrent_staff(args.staff, args.rounds, args.think, args.clients)
               if args.only != "a" else None}
    print("HTTP benchmark")
    single = results["single"]
    if single:
        print(f"\n(a) one member of staff on SQLite (gunicorn, 1 sync worker), {single['completions']} "
              f"completions (open the task page, submit the form)")
        print(f"    login {single['login_ms']:.1f} ms (argon2)")
        print(f"    per completion  median {single['median_ms']:.2f} ms, p95 {single['p95_ms']:.2f} ms   "
              f"(targets: median <= 10 ms, p95 <= 20 ms)")
        print(f"    signing a decision ({single['signings']}, the password checked again with argon2): "
              f"median {single['sign_median_ms']:.1f} ms")
    concurrent = results["concurrent"]
    if concurrent:
        print(f"\n(b) {concurrent['staff']} staff at once in {concurrent['client_processes']} client "
              f"processes, think time {concurrent['think_s']:.1f} s (0.5-1.5x), gunicorn with 2 workers "
              f"x 8 threads, PostgreSQL; {concurrent['requests']} timed requests after the logins, in "
              f"{concurrent['seconds']:.1f} s in all")
        print(f"    (login: all {concurrent['staff']} at once before the rest, argon2 on the server's cores)")
        print(f"    {'':10}{'p50':>10}{'p95':>10}")
        for kind in KINDS:
            p50, p95 = concurrent[kind + "_p50_ms"], concurrent[kind + "_p95_ms"]
            print(f"    {kind:10}{p50:>8.1f}ms{p95:>8.1f}ms")
        print(f"    errors {concurrent['errors']} (target 0), lost updates {concurrent['lost_updates']} "
              f"(target 0), inbox p95 {concurrent['inbox_p95_ms']:.1f} ms (target < 150 ms)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
