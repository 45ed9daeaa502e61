"""The systemd units of docs/operations.md, run as written (paths moved into a temporary folder): the web
unit's gunicorn serves /healthz, /readyz and /metrics, with PROMETHEUS_MULTIPROC_DIR as the unit sets it,
once the scheduler unit's command has run a round. A step taken by another process (a command) sharing
the metrics folder is counted in the web's scrape."""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def units() -> dict[str, dict[str, list[str]]]:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    found = {}
    for block in re.findall(r"```ini\n(.*?)```", text, re.S):
        keys: dict[str, list[str]] = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.startswith("["):
                keys.setdefault(key, []).append(value)
        found["web" if "gunicorn" in block else "scheduler"] = keys
    assert set(found) == {"web", "scheduler"}
    return found


def as_here(value: str, tmp: Path, port: int) -> str:
    return (value.replace("/opt/elevflow/venv/bin/", f"{BIN}/")
            .replace("/var/lib/elevflow", str(tmp / "state")).replace("/run/elevflow-web", str(tmp / "run"))
            .replace("127.0.0.1:8000", f"127.0.0.1:{port}"))


def environment(unit: dict[str, list[str]], tmp: Path, port: int, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    for line in unit.get("Environment", []):
        for pair in shlex.split(line):
            key, _, value = pair.partition("=")
            env[key] = as_here(value, tmp, port)
    return env


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_documented_units_serve_the_probes(db_url, engine, people, chain, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the unit's EnvironmentFile: what an operator would write there
    base = {"PATH": os.environ["PATH"], "ELEVFLOW_DATABASE_URL": db_url, "ELEVFLOW_SECRET_KEY": "k" * 40,
            "ELEVFLOW_EVAL_WORKERS": "1"}
    web, sched = units()["web"], units()["scheduler"]
    assert web["User"] == ["elevflow"] and sched["ExecStart"] == ["/opt/elevflow/venv/bin/elevflow scheduler"]

    env = environment(sched, tmp_path, port, base)
    once = subprocess.run([*shlex.split(as_here(sched["ExecStart"][0], tmp_path, port)), "--once"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert once.returncode == 0, once.stderr

    env = environment(web, tmp_path, port, base)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "run" / "metrics")
    for pre in web["ExecStartPre"]:
        subprocess.run(shlex.split(as_here(pre, tmp_path, port)), check=True)
    command = shlex.split(as_here(web["ExecStart"][0], tmp_path, port))
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(240):
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                time.sleep(0.5)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, body
        started = subprocess.run([str(BIN / "elevflow"), "start", chain.key, "--pupil", str(people.pupil),
                                  "--as", "teacher"], env=env, cwd=tmp_path, capture_output=True, text=True,
                                 timeout=120)
        assert started.returncode == 0, started.stderr
        status, body = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        assert {"elevflow_steps", "elevflow_step_seconds", "elevflow_timers_due"} <= set(families)
        assert [s.value for s in families["elevflow_steps"].samples
                if s.name == "elevflow_steps_total" and s.labels["kind"] == "start"] == [1.0]
    finally:
        server.terminate()
        server.communicate(timeout=60)  # reads and closes its output
