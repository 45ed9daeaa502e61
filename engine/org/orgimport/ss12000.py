"""Read an organisation from SS 12000 JSON: organisations, persons, duties, groups and placements.

1. Organisations: the one of type "Huvudman" is the organiser; those with a schoolUnitCode (of type
   "Skolenhet", or of no type as in Skolverket's reference API) are school units; others are left aside.
2. Duties give staff their roles at units (rolemap.DUTY_ROLES). Only current duties count (no endDate
   before today, no startDate after it); so do group memberships, enrolments and placements.
3. Pupils are persons with a current enrolment (or placement) at a school unit.
4. Groups: a "Klass" group names its pupils' class. A pupil's mentor is the holder of a duty with the
   assignment role "Mentor" for a group the pupil is in (on the duty's `assignmentRole` or the
   group's `assignmentRoles`); in a "Mentor" group without those, the members who hold a duty.
5. A school unit's postal address is its `address` (streetAddress, postalCode locality). A pupil's birth
   date is their `birthDate`, else the date in their `civicNo`.
6. Guardians are the persons a pupil's `responsibles` name (relationType "Vårdnadshavare" or none),
   or who name the pupil in their `_embedded.responsibleFor`.
Staff are the persons who end up with at least one Elevflow role; their login is their first EPPN.
"""
from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from . import rolemap
from .model import GuardianIn, Organisation, OrganiserIn, Problems, PupilIn, StaffIn, UnitIn, Where
from .ss12000files import Record, current, read_folder, ref_id

GUARDIAN_RELATIONS = {None, "Vårdnadshavare"}
STAFF_EMAIL_TYPES = ("Skola personal", "Pedagogisk personal", "Övrig personal", "Arbete övrigt")


class _Reader:
    def __init__(self, folder: Path, today: date) -> None:
        self.problems = Problems()
        self.model = Organisation(source=f"SS 12000 {folder}")
        self.today = today.isoformat()
        self.records = read_folder(folder, self.problems, self.model.notes)
        self.persons = {r.id: r for r in self.records["persons"]}
        self.orgs: dict[str, str | None] = {}  # organisation id -> unit code (None: not a unit)
        self.roles: dict[str, dict[tuple[str, str], Where]] = {}  # person id -> (unit, role) -> source
        self.duties: dict[str, tuple[str, str | None]] = {}  # duty id -> (person id, unit code)
        self.assignments: list[tuple[str, str, str, Where]] = []  # (duty id, group id, type, source)
        self.pupil_units: dict[str, tuple[str, Where]] = {}  # person id -> (unit code, source)
        self.mentors: dict[str, list[str]] = {}  # pupil person id -> mentor person ids
        self.classes: dict[str, str] = {}  # pupil person id -> class name
        self.members: dict[str, list[str]] = {}  # group id -> current members' person ids
        self.ignored: Counter[str] = Counter()

    def person(self, pid: str | None, where: Where, what: str) -> bool:
        if pid is None:
            self.problems.add(where, f"missing {what}")
        elif pid not in self.persons:
            self.problems.add(where, f"{what} {pid} is not among the persons")
        return pid in self.persons

    def unit(self, oid: str | None, where: Where, what: str) -> str | None:
        if oid is None:
            self.problems.add(where, f"missing {what}")
        elif oid not in self.orgs:
            self.problems.add(where, f"{what} {oid} is not among the organisations")
        return self.orgs.get(oid or "")

    def organisations(self) -> None:
        for r in self.records["organisations"]:
            kind, code, name = r.text("organisationType"), r.text("schoolUnitCode"), r.text("displayName")
            self.orgs[r.id] = None
            if kind == "Huvudman":
                if self.model.organiser is not None:
                    self.problems.add(r.where, f"a second Huvudman (first at {self.model.organiser.where}); "
                                               "one import is one huvudman")
                else:
                    self.model.organiser = OrganiserIn(name or r.id, r.where, r.id)
            elif kind in (None, "Skolenhet"):
                if code is None:
                    self.problems.add(r.at("schoolUnitCode"), "missing (a school unit needs one)")
                    continue
                self.model.add_unit(UnitIn(code, name or code, r.where, r.id, self.address(r)), self.problems)
                self.orgs[r.id] = code

    def duty_records(self) -> None:
        for r in self.records["duties"]:
            pid, oid, role = r.ref("person"), r.ref("dutyAt"), r.text("dutyRole")
            known = self.person(pid, r.at("person"), "person")
            code = self.unit(oid, r.at("dutyAt"), "dutyAt")
            name = rolemap.duty_role(role or "")
            if name is None:
                self.problems.add(r.at("dutyRole"), f"unknown duty role {role!r}; SS 12000 duty roles: "
                                                    f"{', '.join(rolemap.DUTY_ROLES)}")
            if pid is None or not known or name is None or not current(r.data, self.today):
                continue
            self.duties[r.id] = (pid, code)
            if code is None:
                self.ignored[f"a duty at an organisation that is not a school unit ({name})"] += 1
                continue
            for key in rolemap.DUTY_ROLES[name]:
                self.roles.setdefault(pid, {}).setdefault((code, key), r.at("dutyRole"))
            if not rolemap.DUTY_ROLES[name]:
                self.ignored[f"duty role {name}"] += 1
            value = r.data.get("assignmentRole")
            for i, item in enumerate(value if isinstance(value, list) else [value] if value else []):
                if isinstance(item, dict):
                    group = ref_id(item.get("group"))
                    kind = item.get("assignmentRoleType")
                    if isinstance(kind, str) and current(item, self.today):
                        self.assignments.append((r.id, group or "", kind, r.at("assignmentRole", i)))
                elif isinstance(item, str):
                    self.assignments.append((r.id, "", item, r.at("assignmentRole")))

    def enrolments(self) -> None:
        for r in self.records["persons"]:
            for i, e in enumerate(r.list("enrolments")):
                if isinstance(e, dict):
                    self.place(r.id, ref_id(e.get("enroledAt")), e, r.at("enrolments", i, "enroledAt"))
        for r in self.records["placements"]:
            pid = r.ref("child")
            if self.person(pid, r.at("child"), "child") and pid is not None:
                self.place(pid, r.ref("placedAt"), r.data, r.at("placedAt"))

    def place(self, pid: str, oid: str | None, item: dict[str, Any], where: Where) -> None:
        code = self.unit(oid, where, "school unit")
        if code is not None and current(item, self.today):
            first = self.pupil_units.setdefault(pid, (code, where))
            if first[0] != code:
                self.model.notes.append(f"pupil {pid} is enrolled at {first[0]} and {code}; Elevflow keeps "
                                        f"{first[0]} ({first[1]})")

    def groups(self) -> None:
        """Classes, and mentors from "Mentor" groups; collects the groups' assignment roles."""
        all_duties = {r.id for r in self.records["duties"]}
        holders = {pid for pid, _ in self.duties.values()}
        for g in self.records["groups"]:
            code = self.unit(g.ref("organisation"), g.at("organisation"), "organisation")
            self.members[g.id] = []
            for i, m in enumerate(g.list("groupMemberships")):
                pid = ref_id(m.get("person")) if isinstance(m, dict) else None
                where = g.at("groupMemberships", i, "person")
                if self.person(pid, where, "person") and pid is not None and current(m, self.today):
                    self.members[g.id].append(pid)
            embedded = g.data.get("_embedded")
            roles = g.list("assignmentRoles") or (embedded.get("assignmentRoles", [])
                                                  if isinstance(embedded, dict) else [])
            for i, a in enumerate(roles if isinstance(roles, list) else []):
                duty = ref_id(a.get("duty")) if isinstance(a, dict) else None
                kind = a.get("assignmentRoleType") if isinstance(a, dict) else None
                if duty not in all_duties:
                    self.problems.add(g.at("assignmentRoles", i, "duty"),
                                      f"duty {duty} is not among the duties")
                elif duty in self.duties and isinstance(kind, str) and current(a, self.today):
                    self.assignments.append((duty, g.id, kind, g.at("assignmentRoles", i)))
            if code is None:
                continue
            pupils = [pid for pid in self.members[g.id] if pid in self.pupil_units]
            name = g.text("displayName") or ""
            if g.text("groupType") == "Klass":
                for pid in pupils:
                    if self.classes.setdefault(pid, name) != name:
                        self.model.notes.append(f"pupil {pid} is in two classes; Elevflow keeps "
                                                f"{self.classes[pid]}")
            if g.text("groupType") == "Mentor" and not any(a[1] == g.id for a in self.assignments):
                for mentor in (pid for pid in self.members[g.id] if pid in holders):
                    self.roles.setdefault(mentor, {}).setdefault((code, "mentor"), g.where)
                    for pid in pupils:
                        self.mentors.setdefault(pid, []).append(mentor)

    def assignment_roles(self) -> None:
        """Roles from assignment roles, at the duty's unit; a Mentor mentors the group's pupils."""
        for duty, group, kind, where in self.assignments:
            keys = rolemap.assignment_roles(kind)
            pid, code = self.duties[duty]
            if keys is None or code is None:
                self.ignored[f"assignment role {kind}"] += 1
                continue
            for key in keys:
                self.roles.setdefault(pid, {}).setdefault((code, key), where)
            if group and group not in self.members:
                self.problems.add(where, f"group {group} is not among the groups")
            elif "mentor" in keys:
                for pupil in self.members.get(group, []):
                    if pupil in self.pupil_units:
                        self.mentors.setdefault(pupil, []).append(pid)

    def people(self) -> None:
        for pid, roles in sorted(self.roles.items()):
            r = self.persons[pid]
            eppn = _first(r.list("eduPersonPrincipalNames"))
            self.named(r)
            if eppn is None:
                self.problems.add(r.at("eduPersonPrincipalNames"), "missing: staff log in with their EPPN")
                continue
            self.model.add_staff(StaffIn(pid, eppn, _name(r), r.where, _email(r, STAFF_EMAIL_TYPES), eppn,
                                         dict(roles)), self.problems)
        for pid, (code, _) in sorted(self.pupil_units.items()):
            r = self.persons[pid]
            self.named(r)
            mentors = list(dict.fromkeys(self.mentors.get(pid, [])))
            if len(mentors) > 1:
                self.model.notes.append(f"pupil {pid} has {len(mentors)} mentors; Elevflow keeps "
                                        f"{mentors[0]}")
            record = PupilIn(pid, r.text("givenName") or "", _family(r), code, r.where, self.classes.get(pid),
                             mentors[0] if mentors else None, birth_date=self.birth_date(r))
            self.model.add_pupil(record, self.problems)
            for i, resp in enumerate(r.list("responsibles")):
                if isinstance(resp, dict) and resp.get("relationType") in GUARDIAN_RELATIONS:
                    self.guardian(ref_id(resp.get("person")), pid, r.at("responsibles", i, "person"))
        for r in self.records["persons"]:
            embedded = r.data.get("_embedded")
            children = embedded.get("responsibleFor", []) if isinstance(embedded, dict) else []
            for i, child in enumerate(children if isinstance(children, list) else []):
                item = child if isinstance(child, dict) else {"person": child}
                if item.get("relationType") in GUARDIAN_RELATIONS:
                    where = r.at("_embedded", "responsibleFor", i)
                    pupil = ref_id(item.get("person"))
                    if pupil in self.pupil_units:
                        self.guardian(r.id, pupil or "", where)
                    elif self.person(pupil, where, "child"):
                        self.model.notes.append(f"{where}: {pupil} is no pupil here; link left aside")
        for what, count in sorted(self.ignored.items()):
            self.model.notes.append(f"left aside {count} × {what} (no Elevflow role)")

    def address(self, r: Record) -> str | None:
        """A school unit's postal address on one line ("streetAddress, postalCode locality"), or None."""
        value = r.data.get("address")
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problems.add(r.at("address"), "not an address (an object with streetAddress, postalCode, "
                                               "locality)")
            return None
        parts = {k: value[k].strip() for k in ("streetAddress", "postalCode", "locality")
                 if isinstance(value.get(k), str) and value[k].strip()}
        town = " ".join(parts[k] for k in ("postalCode", "locality") if k in parts)
        return ", ".join(p for p in (parts.get("streetAddress"), town) if p) or None

    def birth_date(self, r: Record) -> date | None:
        """A pupil's birthDate, else the date in their civicNo (personnummer or samordningsnummer)."""
        stated = r.data.get("birthDate")
        if stated is not None:
            born = _iso_date(stated)
            if born is None:
                self.problems.add(r.at("birthDate"), f"{stated!r} is not a date (YYYY-MM-DD)")
            return born
        civic = r.data.get("civicNo")
        value = civic.get("value") if isinstance(civic, dict) else None
        born = civic_birth_date(value, date.fromisoformat(self.today)) if isinstance(value, str) else None
        if born is None:
            self.model.notes.append(f"pupil {r.id}: no birthDate and no date in the civicNo; the birth date "
                                    "stays unknown")
        return born

    def named(self, r: Record) -> None:
        for field in ("givenName", "familyName"):
            if r.text(field) is None:
                self.problems.add(r.at(field), "missing")

    def guardian(self, gid: str | None, pupil: str, where: Where) -> None:
        if not self.person(gid, where, "guardian") or gid is None:
            return
        if gid not in self.model.guardians:
            r = self.persons[gid]
            self.named(r)
            phones = [p.get("value") for p in r.list("phoneNumbers") if isinstance(p, dict)]
            self.model.add_guardian(GuardianIn(gid, r.text("givenName") or "", _family(r), r.where,
                                               _email(r, ("Privat",)), _first(phones)), self.problems)
        self.model.guardians[gid].pupils.setdefault(pupil, where)


def read_ss12000_folder(folder: Path, today: date | None = None) -> Organisation:
    """Read and check the SS 12000 files in FOLDER; raise OrganisationImportError listing every problem.
    `today` decides which duties, enrolments and memberships are current (default: the real today)."""
    reader = _Reader(folder, today or date.today())
    reader.organisations()
    reader.duty_records()
    reader.enrolments()
    reader.groups()
    reader.assignment_roles()
    reader.people()
    for r in reader.records["persons"]:
        if r.text("securityMarking") not in (None, "Ingen"):  # Sekretessmarkering, Skyddad folkbokföring
            for people in (reader.model.pupils, reader.model.guardians):
                if r.id in people:
                    people[r.id].protected = True
    reader.model.check(reader.problems)
    reader.problems.raise_if_any()
    return reader.model


def civic_birth_date(civic_no: str, today: date) -> date | None:
    """The birth date a personnummer or samordningsnummer (day + 60) holds: YYYYMMDD-NNNN or
    YYMMDD-NNNN (a "+" for those 100 or older); None if it holds none."""
    digits = "".join(c for c in civic_no if c.isdigit())
    if len(digits) == 12:
        year, rest = int(digits[:4]), digits[4:8]
    elif len(digits) == 10:
        century = today.year - today.year % 100
        year = century + int(digits[:2])
        if year > today.year:
            year -= 100
        if "+" in civic_no:
            year -= 100
        rest = digits[2:6]
    else:
        return None
    month, day = int(rest[:2]), int(rest[2:])
    try:
        return date(year, month, day - 60 if day > 60 else day)
    except ValueError:
        return None


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _first(values: list[Any]) -> str | None:
    for value in values:
        text = value.get("value") if isinstance(value, dict) else value
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def _family(r: Record) -> str:
    return " ".join(part for part in (r.text("middleName"), r.text("familyName")) if part)


def _name(r: Record) -> str:
    return " ".join(part for part in (r.text("givenName"), _family(r)) if part) or r.id


def _email(r: Record, preferred: tuple[str, ...]) -> str | None:
    emails = [e for e in r.list("emails") if isinstance(e, dict)]
    return _first([e for e in emails if e.get("type") in preferred] or emails)
