"""The organisation as an import source describes it: one normalized shape for CSV and SS 12000.

Both readers build an `Organisation` and record every problem they meet in a `Problems` list, each
with the place it came from (file and line for CSV, file and JSON path for SS 12000). `check()` then
validates the whole: every reference resolves, every role is an Elevflow role, no two people share a
login. Only a model without problems is ever applied to the database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ...errors import ElevflowError
from ..roles import ROLES


class OrganisationImportError(ElevflowError):
    """An import was refused; `problems` lists every problem found, each with where it is."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"organisation import refused ({len(problems)} problems): {shown}")


@dataclass(frozen=True)
class Where:
    """Where a record came from: a file, and a line (CSV) or a JSON path (SS 12000)."""

    file: str
    line: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(self.path)
        return ", ".join(parts)


class Problems:
    """Every problem found while reading and checking a source; listed by file, then line."""

    def __init__(self) -> None:
        self._found: list[tuple[Where | str, str]] = []

    def add(self, where: Where | str, message: str) -> None:
        self._found.append((where, message))

    def __len__(self) -> int:
        return len(self._found)

    @property
    def items(self) -> list[str]:
        """The problems as text: files in the order first met, each by line (JSON: in the order found)."""
        files: dict[str, int] = {}
        for where, _ in self._found:
            files.setdefault(where.file if isinstance(where, Where) else where, len(files))

        def key(entry: tuple[Where | str, str]) -> tuple[int, int]:
            where = entry[0]
            if isinstance(where, Where):
                return files[where.file], where.line or 0
            return files[where], 0

        return [f"{where}: {message}" for where, message in sorted(self._found, key=key)]

    def raise_if_any(self) -> None:
        if self._found:
            raise OrganisationImportError(self.items)


@dataclass
class OrganiserIn:
    name: str
    where: Where
    external_id: str | None = None


@dataclass
class UnitIn:
    code: str  # skolenhetskod: how the rest of the model refers to a unit
    name: str
    where: Where
    external_id: str | None = None
    postal_address: str | None = None  # where appeals are sent; None: the source states none


@dataclass
class StaffIn:
    external_id: str
    username: str
    name: str
    where: Where
    email: str | None = None
    eppn: str | None = None
    roles: dict[tuple[str, str], Where] = field(default_factory=dict)  # (unit code, role key) -> source


@dataclass
class PupilIn:
    external_id: str
    given_name: str
    family_name: str
    unit_code: str
    where: Where
    class_name: str | None = None
    mentor: str | None = None  # the mentor's external id (a member of staff)
    protected: bool = False  # sekretessmarkering / skyddad folkbokföring
    birth_date: date | None = None  # None: the source states none


@dataclass
class GuardianIn:
    external_id: str
    given_name: str
    family_name: str
    where: Where
    email: str | None = None
    phone: str | None = None
    pupils: dict[str, Where] = field(default_factory=dict)  # pupil external id -> source
    protected: bool = False


@dataclass
class Organisation:
    """One huvudman's organisation as a source states it, complete: what is missing is gone."""

    source: str
    organiser: OrganiserIn | None = None
    units: dict[str, UnitIn] = field(default_factory=dict)
    staff: dict[str, StaffIn] = field(default_factory=dict)
    pupils: dict[str, PupilIn] = field(default_factory=dict)
    guardians: dict[str, GuardianIn] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the source held that Elevflow leaves aside

    def add_unit(self, unit: UnitIn, problems: Problems) -> None:
        first = self.units.get(unit.code)
        if first is not None:
            problems.add(unit.where, f"school unit code {unit.code} appears twice (first at {first.where})")
        else:
            self.units[unit.code] = unit

    def add_staff(self, person: StaffIn, problems: Problems) -> None:
        _add(self.staff, person.external_id, person, person.where, "member of staff", problems)

    def add_pupil(self, pupil: PupilIn, problems: Problems) -> None:
        _add(self.pupils, pupil.external_id, pupil, pupil.where, "pupil", problems)

    def add_guardian(self, guardian: GuardianIn, problems: Problems) -> None:
        _add(self.guardians, guardian.external_id, guardian, guardian.where, "guardian", problems)

    def check(self, problems: Problems) -> None:
        """Validate the model as a whole, then give each pupil's mentor the mentor role at the
        pupil's unit (a mentor needs it to see the tasks the routines give mentors)."""
        logins: dict[str, StaffIn] = {}
        eppns: dict[str, StaffIn] = {}
        for person in self.staff.values():
            for (unit, role), where in person.roles.items():
                if unit not in self.units:
                    problems.add(where, f"unknown school unit {unit!r} (not among the school units)")
                if role not in ROLES:
                    problems.add(where, f"unknown role {role!r}; Elevflow roles: {', '.join(ROLES)}")
            if not person.roles:
                problems.add(person.where, f"{person.username} has no role at any school unit")
            for seen, key in ((logins, person.username), (eppns, person.eppn)):
                other = seen.setdefault(key, person) if key else person
                if other is not person:
                    problems.add(person.where, f"{key} is also used by {other.external_id} ({other.where})")
        for pupil in self.pupils.values():
            if pupil.unit_code not in self.units:
                problems.add(pupil.where, f"unknown school unit {pupil.unit_code!r} for pupil "
                                          f"{pupil.external_id}")
            if pupil.mentor is not None and pupil.mentor not in self.staff:
                problems.add(pupil.where, f"mentor {pupil.mentor!r} of pupil {pupil.external_id} "
                                          "is not staff")
        for guardian in self.guardians.values():
            for pupil_id, where in guardian.pupils.items():
                if pupil_id not in self.pupils:
                    problems.add(where, f"guardian {guardian.external_id}: unknown pupil {pupil_id!r}")
        if problems:
            return
        for pupil in self.pupils.values():
            if pupil.mentor is not None:
                self.staff[pupil.mentor].roles.setdefault((pupil.unit_code, "mentor"), pupil.where)


def _add(into: dict[str, Any], key: str, record: Any, where: Where, kind: str, problems: Problems) -> None:
    first = into.get(key)
    if first is not None:
        problems.add(where, f"{kind} id {key!r} appears twice (first at {first.where})")
    else:
        into[key] = record
