"""School terms (terminer) for quality follow-up: which term a moment belongs to.

A term is a half-open interval of Swedish local time (Europe/Stockholm), so every moment belongs to
exactly one term and the terms of a year add up to the year:

- **vt YYYY** (vårterminen): from 1 January YYYY 00:00 up to, not including, 1 July YYYY 00:00;
- **ht YYYY** (hösttermin): from 1 July YYYY 00:00 up to 1 January YYYY+1 00:00.

Teaching in the autumn term starts in August; July (the summer break) is counted with the autumn term
that follows it, so a report made during the break is counted, and counted once. Keys are written
``ht2025``, ``vt2026``; a läsår (school year) is an ht and the vt after it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_KEY = re.compile(r"^(ht|vt)(\d{4})$")


@dataclass(frozen=True, order=True)
class Term:
    year: int
    half: int  # 0 = vt, 1 = ht: orders the terms of a year

    @property
    def key(self) -> str:
        return f"{'ht' if self.half else 'vt'}{self.year}"

    @property
    def label(self) -> str:
        """As Swedish school documents write it: "ht 2025"."""
        return f"{'ht' if self.half else 'vt'} {self.year}"

    @property
    def start(self) -> datetime:
        """The first moment of the term, in UTC."""
        return datetime(self.year, 7 if self.half else 1, 1, tzinfo=STOCKHOLM).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """The first moment after the term (the next term's start), in UTC."""
        return self.next().start

    def next(self) -> Term:
        return Term(self.year + 1, 0) if self.half else Term(self.year, 1)

    def previous(self) -> Term:
        return Term(self.year, 0) if self.half else Term(self.year - 1, 1)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @classmethod
    def of(cls, moment: datetime) -> Term:
        """The term a moment (an aware datetime) belongs to."""
        if moment.tzinfo is None:
            raise ValueError("naive datetime given; terms need an aware time")
        local = moment.astimezone(STOCKHOLM)
        return cls(local.year, 1 if local.month >= 7 else 0)

    @classmethod
    def parse(cls, key: str) -> Term:
        """A term from its key (``ht2025``, ``vt2026``); ValueError otherwise."""
        found = _KEY.match(key.strip().lower()) if key else None
        if found is None:
            raise ValueError(f"{key!r} is no term; write e.g. ht2025 or vt2026")
        return cls(int(found.group(2)), 1 if found.group(1) == "ht" else 0)


def window(last: Term, count: int) -> list[Term]:
    """`count` terms ending with `last`, oldest first."""
    terms = [last]
    while len(terms) < count:
        terms.append(terms[-1].previous())
    return terms[::-1]
