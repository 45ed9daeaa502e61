"""What every `elevflow` command shares: the database it works on, and deploying routines."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import definitions, org, settings
from .errors import DefinitionError
from .store import Database


class Context:
    def __init__(self, url: str | None):
        self.url = url
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()

    def user_id(self, username: str | None) -> int | None:
        return org.user_by_username(self.db, username).id if username else None


pass_ctx = click.make_pass_decorator(Context)


def deploy_folder(ctx: Context, path: Path, note: str, by: int | None) -> list[Any]:
    try:
        return definitions.deploy_path(ctx.db, path, by=by, note=note)
    except DefinitionError as exc:
        click.echo(f"{path}: refused:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)


def deploy_shipped(ctx: Context) -> list[Any]:
    """Deploy every routine folder shipped in processes/ (an unchanged one gets no new version)."""
    root = Path(settings.get("ELEVFLOW_PROCESSES_DIR"))
    deployed = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "shared"):
        if any(folder.glob("*.bpmn")):
            deployed += deploy_folder(ctx, folder, "shipped with Elevflow", None)
    return deployed
