"""What every `elevflow` command shares: the database it works on, and deploying routines."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from elevflow.engine import settings
from elevflow.engine.core import Engine
from elevflow.engine.errors import DefinitionError, ElevflowError
from elevflow.engine.org import records as org
from elevflow.engine.routines import definitions
from elevflow.engine.storage import schema

#: The exit code of every command that cannot use its database: unreachable, missing, or not set up.
NO_DATABASE = 3
#: A number naming a row (a case, a pupil, a unit, a break, a version): what the id columns hold.
ID = click.IntRange(1, 2**31 - 1)


class Refused(click.ClickException):
    """The engine refused the request (bad input, no right, a conflict): its message, exit code 2."""

    exit_code = 2


class DatabaseUnavailable(click.ClickException):
    """The database cannot be reached, does not exist, or has no Elevflow tables (exit code 3)."""

    exit_code = NO_DATABASE


def unreachable(url: str, exc: BaseException) -> DatabaseUnavailable:
    """The error for a database that did not answer, with the driver's first line of why."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return DatabaseUnavailable(f"cannot reach the database {shown(url)}: "
                               f"{reason[0] if reason else exc.__class__.__name__}")


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class Context:
    """The database a command works on. Only `init` and `demo` set `may_create`: every other command
    refuses a database that does not exist (rather than creating an empty one where it was run) or that
    has no Elevflow tables, with a message saying what to do."""

    def __init__(self, url: str | None):
        self.url = url
        self.may_create = False
        self._db: Engine | None = None
        self._config: settings.Config | None = None

    @property
    def config(self) -> settings.Config:
        """The settings, read from the environment once (the command line is an entry point)."""
        if self._config is None:
            self._config = settings.load({"DATABASE_URL": self.url} if self.url else None)
        return self._config

    @property
    def engine(self) -> Engine:
        """The one Engine every command of this invocation works with."""
        if self._db is None:
            url = self.config.database_url
            if not self.may_create:
                _require_file(url)
            self._db = Engine(self.config)
            if not self.may_create:
                self._require_schema(url)
        return self._db

    def _require_schema(self, url: str) -> None:
        assert self._db is not None
        try:
            revision = schema.current_revision(self._db)
        except DBAPIError as exc:
            raise unreachable(url, exc) from None
        if revision is None:
            raise DatabaseUnavailable(f"the database {shown(url)} has no Elevflow tables; create them with "
                                      "`elevflow init` (or check ELEVFLOW_DATABASE_URL / --database)")
        if revision != schema.head_revision():
            raise DatabaseUnavailable(f"the database {shown(url)} has revision {revision} of Elevflow's "
                                      f"tables, this Elevflow needs {schema.head_revision()}; upgrade it "
                                      "with `elevflow init`")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def user_id(self, username: str | None) -> int | None:
        return org.user_by_username(self.engine, username).id if username else None


def _require_file(url: str) -> None:
    """A SQLite database must exist already: connecting would create an empty file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).is_file():
        where = Path(parsed.database).resolve()
        raise DatabaseUnavailable(f"there is no Elevflow database at {where}; create it with "
                                  "`elevflow init`, or say which one to use with ELEVFLOW_DATABASE_URL or "
                                  "--database")


pass_ctx = click.make_pass_decorator(Context)


class ElevflowGroup(click.Group):
    """The `elevflow` group: an engine refusal or a database that stops answering ends a command with
    its message and exit code (2, 3), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ElevflowError as exc:
            raise Refused(str(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()
            raise DatabaseUnavailable("the database stopped answering: "
                                      f"{reason[0] if reason else exc}") from None


def deploy_folder(ctx: Context, path: Path, note: str, by: int | None) -> list[Any]:
    try:
        return definitions.deploy_path(ctx.engine, path, by=by, note=note)
    except DefinitionError as exc:
        click.echo(f"{path}: refused:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)


def deploy_shipped(ctx: Context) -> list[Any]:
    """Deploy every routine folder shipped in processes/ (an unchanged one gets no new version)."""
    root = Path(ctx.config.processes_dir)
    deployed = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "shared"):
        if any(folder.glob("*.bpmn")):
            deployed += deploy_folder(ctx, folder, "shipped with Elevflow", None)
    return deployed
