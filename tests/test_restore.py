"""Backup and restore exactly as docs/operations.md writes them, on SQLite and PostgreSQL.

The shell blocks of the section "Backup and restore" are run as they stand (with bash, in a folder laid
out like an Elevflow folder, `elevflow` on the PATH): a backup, more work, an anchored head, a restore of
the backup. A plain `audit verify` passes the restored, older chain; `--expect-head` with the anchor
does not, and with the backup's own head (FILE.head) it does. A backup taken while another process keeps
stepping cases restores to a whole chain that holds its head.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from elevflow.engine import Engine, deploy_path, upgrade

ROOT = Path(__file__).resolve().parent.parent
SECTION = re.compile(r"^## Backup and restore\n(.*?)(?=^## )", re.S | re.M)
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def blocks() -> dict[str, str]:
    """The section's shell blocks, by what they are for."""
    section = SECTION.search((ROOT / "docs" / "operations.md").read_text(encoding="utf-8")).group(1)
    found = {}
    for block in BLOCK.findall(section):
        found["restore" if "elevflow restore" in block else "backup"] = block
    assert len(found) == 2, sorted(found)
    return found


@pytest.fixture
def site(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """An Elevflow folder with its database (SQLite in instance/, or a PostgreSQL database of its own),
    and the environment an operator's shell would have."""
    folder = tmp_path / "elevflow"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if db_url.startswith("sqlite"):
        (folder / "instance").mkdir(parents=True)
        shutil.copy(sqlite_template, folder / "instance" / "elevflow.db")
        url = f"sqlite:///{folder / 'instance' / 'elevflow.db'}"
        yield url, folder, {**env, "ELEVFLOW_DATABASE_URL": url}
        return
    base = make_url(db_url)
    own = base.set(database=f"{base.database}_restore")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}"'))
        conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    url = own.render_as_string(hide_password=False)
    database = Engine.from_settings(database_url=url)
    upgrade(database)
    database.close()
    folder.mkdir()
    try:
        yield url, folder, {**env, "ELEVFLOW_DATABASE_URL": url, "PGHOST": own.host or "127.0.0.1",
                            "PGPORT": str(own.port or 5432), "PGUSER": own.username or "postgres",
                            "PGDATABASE": own.database}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        admin.dispose()


def shell(block: str, folder: Path, env: dict[str, str], **more: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", block], cwd=folder, env={**env, **more}, capture_output=True,
                          text=True, timeout=300)


def deploy(url: str, routine: Path) -> None:
    database = Engine.from_settings(database_url=url)
    try:
        deploy_path(database, routine, shared_dir=FIXTURES / "shared")
    finally:
        database.close()


def test_restoring_an_older_backup_as_documented_is_caught_by_the_anchored_head(site, db_url):
    url, folder, env = site
    steps = blocks()
    deploy(url, FIXTURES / "stodkedja")
    backed_up = shell(steps["backup"], folder, env)
    assert backed_up.returncode == 0, backed_up.stderr
    backup_head = (folder / "backups" / "elevflow.backup.head").read_text().strip()
    assert backup_head == shell("elevflow audit head", folder, env).stdout.strip()
    deploy(url, ROOT / "benchmarks" / "fixtures" / "paminnelse")  # work after the backup
    anchor = shell("elevflow audit head", folder, env).stdout.strip()
    assert int(anchor.split(":")[0]) > int(backup_head.split(":")[0])

    restored = shell(steps["restore"], folder, env, ANCHOR=anchor)
    assert restored.returncode == 1, restored.stdout + restored.stderr
    assert (f"the chain ends at event {backup_head.split(':')[0]}, but the expected head is event "
            f"{anchor.split(':')[0]}") in restored.stderr
    plain = shell("elevflow audit verify", folder, env)
    assert plain.returncode == 0  # the older chain is consistent in itself: only the anchor shows the loss
    assert shell("elevflow audit head", folder, env).stdout.strip() == backup_head

    again = shell(steps["restore"], folder, env, ANCHOR=backup_head)  # the backup's own head
    assert again.returncode == 0, again.stdout + again.stderr
    assert "audit log intact" in again.stdout
    verified = shell(f"elevflow audit verify --expect-head {backup_head}", folder, env)
    assert verified.returncode == 0, verified.stderr
    # without --expect-head, restore checks the head written beside the backup
    assert shell("elevflow restore backups/elevflow.backup", folder, env).returncode == 0
    refused = shell("elevflow backup backups/elevflow.backup", folder, env)
    assert refused.returncode == 2 and "exists already" in refused.stderr  # never overwritten


def test_a_backup_taken_while_cases_step_restores_whole(site):
    """Another process deploys routines (each an audited step) while the backup runs: the copy is one
    consistent snapshot, so the restored chain verifies and holds the head written beside it."""
    url, folder, env = site
    deploy(url, FIXTURES / "stodkedja")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url, str(FIXTURES)], cwd=ROOT, env=env)
    try:
        for n in range(3):
            backed_up = shell(f"mkdir -p backups && elevflow backup backups/b{n}.backup", folder, env)
            assert backed_up.returncode == 0, backed_up.stderr
    finally:
        writer.wait(timeout=300)
    assert writer.returncode == 0
    for n in range(3):
        restored = shell(f"elevflow restore backups/b{n}.backup", folder, env)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        head = (folder / "backups" / f"b{n}.backup.head").read_text().strip()
        assert f"event {head.split(':')[0]} is the expected head's" in restored.stdout


WRITER = """import sys
from elevflow.engine import Engine
from elevflow.engine.storage import audit
engine = Engine.from_settings(database_url=sys.argv[1])
for n in range(60):
    with engine.db.transaction() as tx:
        audit.append(tx, [audit.Event("password_set", None, data={"n": n})], engine.clock())
engine.close()
"""
