"""`elevflow backup` and `elevflow restore`: a consistent copy of the database while Elevflow runs, and
putting one back, checked against the audit head written beside it.

SQLite: SQLite's online backup API (a consistent snapshot, whatever the other processes write meanwhile).
PostgreSQL: pg_dump --format=custom (one consistent snapshot) and pg_restore --clean --single-transaction.
The password, if the URL holds one, goes to pg_dump/pg_restore in PGPASSWORD, never on their command line.
Beside FILE the command writes FILE.head: the audit head read *before* the copy, so the copy holds at least
that event and `restore` (or `audit verify --expect-head`) can check it came back whole.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
from sqlalchemy.engine import URL, make_url

from elevflow.engine import settings
from elevflow.engine.runtime import health
from elevflow.engine.storage import audit, schema

from .context import Context, DatabaseUnavailable, Refused, pass_ctx, shown


def head_file(backup: Path) -> Path:
    return backup.with_name(backup.name + ".head")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@pass_ctx
def backup_command(ctx: Context, file: Path) -> None:
    """Copy the database to FILE while Elevflow runs, and its audit head to FILE.head.

    SQLite is copied with its online backup API, PostgreSQL with pg_dump --format=custom (which must be
    installed); both copy one consistent snapshot. FILE must not exist yet.
    """
    if file.exists():
        raise Refused(f"{file} exists already; give a new file name")
    engine = ctx.engine  # the database must exist and be an Elevflow one
    head = audit.head(engine)
    url = make_url(engine.db.url)
    file.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(Path(url.database or ""), file)
    else:
        _pg("pg_dump", url, ["--format=custom", f"--file={file}"])
    head_file(file).write_text(f"{head}\n", encoding="utf-8")
    click.echo(f"backup written: {file} (audit head {head}, also in {head_file(file).name})")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--expect-head", metavar="SEQ:HASH",
              help="The head the restored chain must hold (default: FILE.head, written by `backup`). Give "
              "the newest head you anchored outside the database to learn whether anything after the "
              "backup was lost.")
@pass_ctx
def restore_command(ctx: Context, file: Path, expect_head: str | None) -> None:
    """Replace the database with the backup in FILE, upgrade its tables, and verify its audit chain.

    Stop every Elevflow process first (web workers, schedulers, cron jobs). SQLite is restored with its
    backup API, PostgreSQL with pg_restore --clean --single-transaction (all or nothing). Exits 0 when the
    restored chain is whole and holds the expected head, 1 when it does not (the backup is older than that
    head, or was changed), 3 when the database cannot be reached.
    """
    text = expect_head if expect_head is not None else (
        head_file(file).read_text(encoding="utf-8") if head_file(file).exists() else None)
    try:
        expected = audit.Head.parse(text) if text is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expect-head") from None
    url = make_url(ctx.config.database_url)
    if url.get_backend_name() == "sqlite":
        target = Path(url.database or "")
        if not target.name or target.name == ":memory:":
            raise Refused("restore needs a database file")
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(file, target)
    else:
        _pg("pg_restore", url, ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(file)])
    ctx.may_create = True
    schema.upgrade(ctx.engine)  # a backup made by an older Elevflow gets the newest tables
    verdict = audit.verify(ctx.engine, expect=expected)
    health.mark(ctx.engine, health.AUDIT_VERIFY, verdict.ok, verdict.reason)
    click.echo(f"restored {file} into {shown(str(url))}")
    if not verdict.ok:
        click.echo(f"audit log BROKEN at event {verdict.broken_seq}: {verdict.reason}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {verdict.checked} events verified"
               + (f", event {expected.seq} is the expected head's" if expected is not None else ""))


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup from `source` into `target`, page by page under SQLite's own locking."""
    if not source.is_file():
        raise DatabaseUnavailable(f"there is no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg(tool: str, url: URL, args: list[str]) -> None:
    """Run pg_dump or pg_restore on the database `url` names (its password, if any, in PGPASSWORD)."""
    if shutil.which(tool) is None:
        raise Refused(f"{tool} is not installed (PostgreSQL's client tools)")
    env = settings.environment_with(PGPASSWORD=str(url.password)) if url.password else None
    dbname = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    result = subprocess.run([tool, f"--dbname={dbname}", *args], env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise DatabaseUnavailable(f"{tool} failed: {result.stderr.strip()[:500]}")
