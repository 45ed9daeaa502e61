"""`elevflow import csv|ss12000 FOLDER`: bring the organisation in from the school's systems.

The main group registers `import_group`; its Context object gives the database as `obj.db`.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import click

from elevflow.engine.core import Engine
from elevflow.engine.org.orgimport import ImportReport, OrganisationImportError, import_csv, import_ss12000


class HasDatabase(Protocol):
    @property
    def engine(self) -> Engine: ...


FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)
DRY_RUN = click.option("--dry-run", is_flag=True,
                       help="Check the files and report what would change; write nothing.")


@click.group("import", context_settings={"help_option_names": ["-h", "--help"]})
def import_group() -> None:
    """Import the organisation: school units, staff and their roles, pupils, guardians.

    Run it again whenever the source changes: it is idempotent, and reports exactly what changed. Any
    problem in the files is listed with file and line (or JSON path), and nothing is imported.
    See docs/organisation.md for the formats.
    """


def _run(obj: HasDatabase, folder: Path, dry_run: bool,
         do: Callable[[Engine, Path, bool], ImportReport]) -> None:
    try:
        report = do(obj.engine, folder, dry_run)
    except OrganisationImportError as exc:
        click.echo(f"{folder}: refused, nothing imported ({len(exc.problems)} problems):", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(report.render())


@import_group.command("csv")
@click.argument("folder", type=FOLDER)
@DRY_RUN
@click.pass_obj
def csv_command(obj: HasDatabase, folder: Path, dry_run: bool) -> None:
    """Import from a folder of CSV files.

    FOLDER holds skolenheter.csv, personal.csv, elever.csv and vardnadshavare.csv.
    """
    _run(obj, folder, dry_run, lambda engine, f, d: import_csv(engine, f, dry_run=d))


@import_group.command("ss12000")
@click.argument("folder", type=FOLDER)
@DRY_RUN
@click.pass_obj
def ss12000_command(obj: HasDatabase, folder: Path, dry_run: bool) -> None:
    """Import from a folder of SS 12000 JSON files.

    FOLDER holds organisations, persons and duties (and groups, placements) as the SS 12000 API returns
    them: organisations.json, persons.json, persons-2.json (a further page), and so on.
    """
    _run(obj, folder, dry_run, lambda engine, f, d: import_ss12000(engine, f, dry_run=d))
