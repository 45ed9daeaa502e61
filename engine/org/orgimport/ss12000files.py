"""Read a folder of SS 12000 JSON files into records, each with the file and JSON path it came from.

A file's kind is the start of its name: `organisations.json`, `persons.json`, `persons-2.json` (further
pages), `duties.json`, `groups.json`, `placements.json`. A file holds what the API returns — an object
with `data` (a GET response) or with the kind's own key (`{"persons": [...]}`, the reference API's
bodies) — or a bare list of records.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DataNotJSONError
from ...storage.jsondata import holds_nul, loads
from .model import Problems, Where

MAX_DEPTH = 16  # SS 12000 records nest a few levels; anything deeper is not one

KINDS = ("organisations", "persons", "duties", "groups", "placements")
REQUIRED = ("organisations", "persons", "duties")


def norm_id(value: Any) -> str | None:
    """An SS 12000 id as Elevflow keeps it (UUIDs compared without regard to case), or None."""
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


@dataclass
class Record:
    """One object from a file: its fields, and where it is."""

    data: dict[str, Any]
    where: Where

    @property
    def id(self) -> str:
        return norm_id(self.data.get("id")) or ""

    def at(self, *path: str | int) -> Where:
        """Where a field below this record is, for a problem's message."""
        suffix = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        return Where(self.where.file, path=f"{self.where.path}{suffix}")

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def ref(self, name: str) -> str | None:
        """The id an object reference field ({"id": ...}) points at, or None."""
        return ref_id(self.data.get(name))

    def list(self, name: str) -> list[Any]:
        value = self.data.get(name)
        return value if isinstance(value, list) else []


def ref_id(value: Any) -> str | None:
    """The id of an object reference, or of a bare id string."""
    return norm_id(value.get("id")) if isinstance(value, dict) else norm_id(value)


def current(item: dict[str, Any], today: str) -> bool:
    """False for what has ended (endDate before today) or not yet begun, or was cancelled."""
    start, end = item.get("startDate"), item.get("endDate")
    if isinstance(end, str) and end[:10] < today:
        return False
    if isinstance(start, str) and start[:10] > today:
        return False
    return item.get("cancelled") is not True


def kind_of(path: Path) -> str | None:
    stem = path.stem.casefold()
    return next((k for k in KINDS if stem == k or (stem.startswith(k) and not stem[len(k)].isalpha())), None)


def read_folder(folder: Path, problems: Problems, notes: list[str]) -> dict[str, list[Record]]:
    """Every record of every kind in FOLDER; problems are recorded, not raised."""
    records: dict[str, list[Record]] = {kind: [] for kind in KINDS}
    seen: dict[tuple[str, str], Where] = {}
    found: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        kind = kind_of(path)
        if kind is None:
            notes.append(f"{path.name} not read: Elevflow reads {', '.join(KINDS)}")
            continue
        found.add(kind)
        try:
            body = loads(path.read_text(encoding="utf-8-sig"), path.name, limit=MAX_DEPTH)
        except UnicodeDecodeError:
            problems.add(path.name, "not UTF-8 text")
            continue
        except DataNotJSONError:
            problems.add(path.name, f"nested deeper than {MAX_DEPTH} levels: not SS 12000 data")
            continue
        except json.JSONDecodeError as exc:
            problems.add(Where(path.name, exc.lineno), f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        key, items = _items(body, kind)
        if items is None:
            problems.add(path.name, f'expected an object with a "data" or "{kind}" list, or a list')
            continue
        for i, item in enumerate(items):
            where = Where(path.name, path=f"$.{key}[{i}]" if key else f"$[{i}]")
            if not isinstance(item, dict):
                problems.add(where, "not an object")
                continue
            if holds_nul(item):
                problems.add(where, "holds a NUL character, which no record can hold")
                continue
            record = Record(item, where)
            if not record.id:
                problems.add(record.at("id"), "missing id")
                continue
            first = seen.setdefault((kind, record.id), where)
            if first is not where:
                problems.add(where, f"{kind} id {record.id} appears twice (first at {first})")
                continue
            records[kind].append(record)
    for kind in REQUIRED:
        if kind not in found:
            problems.add(str(folder), f"no {kind}.json (needed: {', '.join(REQUIRED)})")
    return records


def _items(body: Any, kind: str) -> tuple[str | None, list[Any] | None]:
    if isinstance(body, list):
        return None, body
    if isinstance(body, dict):
        for key in ("data", kind):
            if isinstance(body.get(key), list):
                return key, body[key]
    return None, None
