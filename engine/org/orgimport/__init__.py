"""Organisation import: huvudman, school units, staff with roles, pupils and guardians, from CSV or
SS 12000 JSON.

Both sources are read into one normalized `Organisation` (model.py), checked as a whole, and only then
reconciled with the database in one transaction (apply.py). Re-importing the same data changes nothing.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .apply import apply_organisation
from .csvfile import read_csv_folder
from .model import Organisation, OrganisationImportError
from .report import ImportReport
from .ss12000 import read_ss12000_folder

__all__ = ["ImportReport", "Organisation", "OrganisationImportError", "apply_organisation", "import_csv",
           "import_ss12000", "read_csv_folder", "read_ss12000_folder"]


if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ...core import Engine


def import_csv(engine: Engine, folder: Path, *, dry_run: bool = False) -> ImportReport:
    """Import the CSV files in FOLDER; raise OrganisationImportError, writing nothing, on any problem."""
    return apply_organisation(engine, read_csv_folder(folder), dry_run=dry_run)


def import_ss12000(engine: Engine, folder: Path, *, dry_run: bool = False,
                   today: date | None = None) -> ImportReport:
    """Import the SS 12000 JSON files in FOLDER; raise OrganisationImportError, writing nothing, on any
    problem. `today` decides which duties, enrolments and memberships are current."""
    return apply_organisation(engine, read_ss12000_folder(folder, today), dry_run=dry_run)
