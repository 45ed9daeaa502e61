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
from zoneinfo import ZoneInfo

from ..storage.dbapi import Sql, Tx

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NO_ORGANISER = 0  # the series of the school units no organiser is recorded for

ORGANISER_OF = Sql("SELECT organiser_id FROM school_units WHERE id = :unit_id")
NEXT = Sql("""INSERT INTO diary_counters (organiser, year, last) VALUES (:organiser, :year, 1)
    ON CONFLICT (organiser, year) DO UPDATE SET last = diary_counters.last + 1 RETURNING last""")
SET = Sql("UPDATE cases SET diary_organiser = :organiser, diary_number = :number WHERE id = :id")


def number(year: int, seq: int) -> str:
    """How a diarienummer is written: "2026/0042"."""
    return f"{year}/{seq:04d}"


def assign(tx: Tx, case_id: int, unit_id: int, now: datetime) -> str:
    """Give a new case its diarienummer, in the transaction that starts it; return it."""
    organiser = tx.scalar(ORGANISER_OF, {"unit_id": unit_id}) or NO_ORGANISER
    year = now.astimezone(STOCKHOLM).year
    seq = tx.scalar(NEXT, {"organiser": organiser, "year": year})
    written = number(year, seq)
    tx.execute(SET, {"organiser": organiser, "number": written, "id": case_id})
    return written
