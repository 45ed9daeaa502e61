"""Diarienummer: every case is registered with its organiser's running number of the year when it starts.

A case is an allmän handling's ärende from the moment it is reported, and a public body registers what it
receives without delay (OSL 5 kap. 1 §), so the number is given in the step that starts the case — also a
case another case starts — and never changes. The number is "YYYY/NNNN": the year the case started
(Swedish time) and the organiser's next number that year (`diary_counters`, one row per organiser and
year, counted up with an upsert that holds the row until the step commits, so two cases started at once
get two numbers; a rolled-back start gives its number back). `cases.diary_organiser` with
`cases.diary_number` is unique. The decision documents and the case page show it
(engine/documents/signing.py, docs/processes.md).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..storage.dbapi import Sql, Tx

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NO_ORGANISER = 0  # the series of the school units no organiser is recorded for

ORGANISER_OF = Sql("SELECT organiser_id FROM school_units WHERE id = :unit_id")
NEXT = Sql("""INSERT INTO diary_counters (organiser, year, last) VALUES (:organiser, :year, 1)
    ON CONFLICT (organiser, year) DO UPDATE SET last = diary_counters.last + 1 RETURNING last""")
_CASE_COLUMNS = """cases (process_version_id, process_key, pupil_id, unit_id, parent_case_id, status,
    started_by, started_at, row_version, serializer_version, state, diary_organiser, diary_number)"""
_CASE_VALUES = """:version_id, :key, :pupil_id, :unit_id, :parent_id, 'running', :by, :now, 0, :serializer,
    :state"""
INSERT_CASE = Sql(f"""INSERT INTO {_CASE_COLUMNS} VALUES ({_CASE_VALUES}, :organiser, :number)
    RETURNING id""")
# PostgreSQL: the same in one statement, so a start waits for one answer here instead of three: the
# organiser's next number counted up (its row held until the step commits), and the case row inserted with
# it, written as `number` writes it (at least four digits).
REGISTER = Sql(f"""WITH counted AS (INSERT INTO diary_counters (organiser, year, last)
        SELECT COALESCE((SELECT organiser_id FROM school_units WHERE id = :unit_id), {NO_ORGANISER}),
            :year, 1
        ON CONFLICT (organiser, year) DO UPDATE SET last = diary_counters.last + 1
        RETURNING organiser, last)
    INSERT INTO {_CASE_COLUMNS} SELECT {_CASE_VALUES}, organiser, CAST(:year AS text) || '/' ||
        CASE WHEN last < 10000 THEN lpad(CAST(last AS text), 4, '0') ELSE CAST(last AS text) END
    FROM counted RETURNING id, diary_number""")


def number(year: int, seq: int) -> str:
    """How a diarienummer is written: "2026/0042"."""
    return f"{year}/{seq:04d}"


def register(tx: Tx, case: dict[str, Any], now: datetime) -> tuple[int, str]:
    """Insert a new case's row (`case`: INSERT_CASE's values but the diarienummer) with its diarienummer,
    in the transaction that starts it; return the case's id and its number."""
    year = now.astimezone(STOCKHOLM).year
    if not tx.sqlite:
        case_id, written = tx.first(REGISTER, {**case, "year": year})
        return case_id, written
    organiser = tx.scalar(ORGANISER_OF, {"unit_id": case["unit_id"]}) or NO_ORGANISER
    written = number(year, tx.scalar(NEXT, {"organiser": organiser, "year": year}))
    return tx.scalar(INSERT_CASE, {**case, "organiser": organiser, "number": written}), written
