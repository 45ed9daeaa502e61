"""The organisation as another system sends it through the integration API: SS 12000 JSON documents,
imported by the same import as `elevflow import ss12000` (orgimport/), checked as a whole, all or nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .orgimport import ImportReport, OrganisationImportError, import_ss12000
from .orgimport.ss12000files import KINDS

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

__all__ = ["KINDS", "ImportReport", "OrganisationImportError", "import_documents"]


def import_documents(engine: Engine, documents: dict[str, Any], *, dry_run: bool = False) -> ImportReport:
    """Import SS 12000 documents given by kind ("organisations", "persons", "duties", "groups",
    "placements", "activities"): each a list of records or an object with a "data" list, as the SS 12000
    API returns them. ValueError for a kind Elevflow does not read; OrganisationImportError, writing
    nothing, for any problem in the data."""
    unknown = sorted(set(documents) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown SS 12000 kinds {unknown}; known: {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="elevflow-ss12000-") as folder:
        for kind, body in documents.items():
            (Path(folder) / f"{kind}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        report = import_ss12000(engine, Path(folder), dry_run=dry_run)
    report.source = "SS 12000 (API)"
    return report
