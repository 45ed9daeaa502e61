"""The Swedish calendar that business days are counted on: public holidays, and school breaks.

Public holidays follow lagen (1989:253) om allmänna helgdagar, plus the three eves that are not work days
in practice (midsommarafton, julafton, nyårsafton). Sundays are holidays anyway and are not listed.
School breaks (lov) are data: rows in `school_breaks`, for one school unit or for all of them.
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first(weekday: int, on_or_after: date) -> date:
    """The first `weekday` (Monday 0) on or after a date."""
    return on_or_after + timedelta(days=(weekday - on_or_after.weekday()) % 7)


@functools.lru_cache(maxsize=64)
def public_holidays(year: int) -> dict[date, str]:
    """Every day of `year` that is not a work day for that reason, with its Swedish name."""
    easter = easter_sunday(year)
    midsummer_eve = _first(4, date(year, 6, 19))  # the Friday between 19 and 25 June
    all_saints = _first(5, date(year, 10, 31))  # the Saturday between 31 October and 6 November
    return {
        date(year, 1, 1): "Nyårsdagen",
        date(year, 1, 6): "Trettondedag jul",
        easter - timedelta(days=2): "Långfredagen",
        easter: "Påskdagen",
        easter + timedelta(days=1): "Annandag påsk",
        date(year, 5, 1): "Första maj",
        easter + timedelta(days=39): "Kristi himmelsfärdsdag",
        easter + timedelta(days=49): "Pingstdagen",
        date(year, 6, 6): "Sveriges nationaldag",
        midsummer_eve: "Midsommarafton",
        midsummer_eve + timedelta(days=1): "Midsommardagen",
        all_saints: "Alla helgons dag",
        date(year, 12, 24): "Julafton",
        date(year, 12, 25): "Juldagen",
        date(year, 12, 26): "Annandag jul",
        date(year, 12, 31): "Nyårsafton",
    }


def is_public_holiday(day: date) -> bool:
    return day in public_holidays(day.year)


class Breaks:
    """School breaks by unit, read from the database at most every `ttl` seconds.

    `load()` returns (unit id or None for all units, first day, last day) rows.
    """

    def __init__(self, load: Callable[[], list[tuple[int | None, str, str]]], ttl: float = 300.0):
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._spans: list[tuple[int | None, date, date]] = []

    def refresh(self) -> None:
        rows = self._load()
        with self._lock:
            self._spans = [(unit, date.fromisoformat(a), date.fromisoformat(b)) for unit, a, b in rows]
            self._loaded_at = time.monotonic()

    def is_off(self, unit_id: int | None) -> Callable[[date], bool]:
        """A predicate: whether a day falls in a break of this unit (or of all units)."""
        if time.monotonic() - self._loaded_at > self._ttl:
            self.refresh()
        spans = [(a, b) for unit, a, b in self._spans if unit is None or unit == unit_id]
        return lambda day: any(a <= day <= b for a, b in spans)
