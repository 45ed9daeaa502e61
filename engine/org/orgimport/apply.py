"""Make the database match an imported organisation, in one transaction, and report what changed.

1. The organiser: matched by external id, else by name; added or renamed.
2. School units: matched by external id, else by skolenhetskod; added or updated. Units the source no
   longer has are kept (cases refer to them) and named in a note. A source that states no postal
   address (CSV never does) keeps the address already recorded.
3. Staff: matched by external id, else by EPPN or username if that user has no external id yet (a
   user made by hand is then adopted). Added, updated or reactivated. A user with an external id the
   source no longer has is deactivated, never deleted: cases refer to them.
4. Roles: an assignment with source "import" that the source no longer states is deleted; a stated one
   that is missing is added with source "import". A hand-made assignment (source "manual") is never
   touched, and counts as present when the source states it too.
5. Pupils: matched by external id; added, updated (unit, names, class, mentor, protected identity, birth
   date: one the source does not state is kept) or reactivated. Pupils the source no longer has are
   deactivated, never deleted: cases refer to them.
6. Guardians: the same, by external id. The links between the source's pupils and imported guardians are
   made to match the source; links to guardians added by hand stay.
7. The import is written to the audit log with its counts (no names).
A login, EPPN or unit code already held by another record refuses the whole import. A dry run does all
of the above and then rolls the transaction back, so its report is exactly what a real run would do.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...storage import audit, dbapi
from ...storage.models import Guardian, Organiser, Pupil, PupilGuardian, RoleAssignment, SchoolUnit, User
from .model import GuardianIn, Organisation, OrganisationImportError, Problems
from .report import ImportReport

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ...core import Engine


class _DryRun(Exception):
    """Raised inside the transaction of a dry run, so that it rolls back."""


def apply_organisation(engine: Engine, model: Organisation, *, dry_run: bool = False) -> ImportReport:
    """Reconcile the database with MODEL in one transaction; with dry_run, roll it back. Raises
    OrganisationImportError (and writes nothing) if the model conflicts with rows already there."""
    report = ImportReport(model.source, dry_run=dry_run, notes=list(model.notes))
    try:
        with engine.db.write() as session:
            _Reconcile(session, model, report).run()
            if dry_run:
                raise _DryRun
            session.flush()
            event = audit.Event("organisation_imported", None, data={
                "source": model.source,
                "counts": {kind: vars(c) for kind, c in report.counts.items()}})
            audit.append(dbapi.within(session, engine.db.dialect, engine.db.stats), [event],
                         datetime.now(timezone.utc))
    except _DryRun:
        pass
    except IntegrityError as exc:
        raise OrganisationImportError([f"the database refused the change: {exc.orig}"]) from exc
    return report


_LABELS = {"organiser_id": "huvudman", "unit_id": "unit", "mentor_id": "mentor"}


def _set(row: Any, values: dict[str, Any], show: dict[str, dict[int, str]] | None = None) -> list[str]:
    """Set the columns that differ; describe each change (`show` names the rows an id column points at)."""
    changes: list[str] = []
    for name, value in values.items():
        old = getattr(row, name)
        if old != value:
            names = (show or {}).get(name)
            if names is None:
                changes.append(f"{name} {_shown(old)} → {_shown(value)}")
            else:
                label = _LABELS.get(name, name)
                changes.append(f"{label} {names.get(old, '(none)')} → {names.get(value, '(none)')}")
            setattr(row, name, value)
    return changes


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else repr(value)


def _listed(what: str, names: list[str], limit: int = 10) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{what} no longer in the source, kept ({len(names)}): {', '.join(names[:limit])}{more}"


class _Reconcile:
    def __init__(self, session: Session, model: Organisation, report: ImportReport) -> None:
        self.s, self.model, self.report, self.problems = session, model, report, Problems()
        self.unit_names: dict[int, str] = {}
        self.user_names: dict[int, str] = {}

    def run(self) -> None:
        organiser = self.organiser()
        units = self.units(organiser)
        users = self.staff()
        self.problems.raise_if_any()
        self.s.flush()
        self.unit_names.update({u.id: u.name for u in units.values()})
        self.user_names.update({u.id: u.username for u in users.values()})
        self.roles(units, users)
        self.guardians(self.pupils(units, users))
        self.s.flush()

    def changed(self, kind: str, label: str, changes: list[str]) -> None:
        if changes:
            self.report.updated(kind, f"updated {label}: {', '.join(changes)}")

    def organiser(self) -> Organiser | None:
        src = self.model.organiser
        if src is None:
            return None
        rows = self.s.scalars(select(Organiser)).all()
        row = next((r for r in rows if src.external_id and r.external_id == src.external_id), None)
        if row is None:
            unlinked = (r for r in rows if r.name == src.name and None in (r.external_id, src.external_id))
            row = next(unlinked, None)
        if row is None:
            row = Organiser(name=src.name, external_id=src.external_id)
            self.s.add(row)
            self.report.added("organiser", f"added huvudman {src.name}")
        else:
            changes = _set(row, {"name": src.name, "external_id": src.external_id or row.external_id})
            self.changed("organiser", f"huvudman {src.name}", changes)
        self.s.flush()
        return row

    def units(self, organiser: Organiser | None) -> dict[str, SchoolUnit]:
        rows = self.s.scalars(select(SchoolUnit).order_by(SchoolUnit.code)).all()
        organisers = {o.id: o.name for o in self.s.scalars(select(Organiser)).all()}
        by_ext = {r.external_id: r for r in rows if r.external_id}
        by_code = {r.code: r for r in rows}
        out: dict[str, SchoolUnit] = {}
        for src in self.model.units.values():
            row = by_ext.get(src.external_id or "") or by_code.get(src.code)
            holder = by_code.get(src.code)
            if row is not None and src.external_id and row.external_id not in (None, src.external_id):
                self.problems.add(src.where, f"skolenhetskod {src.code} belongs to {row.name}, which has "
                                             f"another SS 12000 id ({row.external_id})")
                continue
            if row is not None and holder is not None and holder is not row:
                self.problems.add(src.where, f"skolenhetskod {src.code} is held by {holder.name}")
                continue
            organiser_id = organiser.id if organiser is not None else (row.organiser_id if row else None)
            if row is None:
                row = SchoolUnit(code=src.code, name=src.name, organiser_id=organiser_id,
                                 external_id=src.external_id, postal_address=src.postal_address)
                self.s.add(row)
                self.report.added("units", f"added unit {src.code} {src.name}")
            else:
                values = {"code": src.code, "name": src.name, "organiser_id": organiser_id,
                          "external_id": src.external_id or row.external_id,
                          "postal_address": src.postal_address or row.postal_address}
                changes = _set(row, values, {"organiser_id": organisers})
                self.changed("units", f"unit {src.code} {src.name}", changes)
            out[src.code] = row
        kept = {id(row) for row in out.values()}
        gone = [f"{r.code} {r.name}" for r in rows if id(r) not in kept]
        if gone:
            self.report.notes.append(_listed("school units", gone))
        self.unit_names = {r.id: r.name for r in rows}
        return out

    def staff(self) -> dict[str, User]:
        rows = self.s.scalars(select(User).order_by(User.username)).all()
        by_ext = {r.external_id: r for r in rows if r.external_id}
        by_login = {r.username: r for r in rows}
        by_eppn = {r.eppn: r for r in rows if r.eppn}
        out: dict[str, User] = {}
        for src in self.model.staff.values():
            row = by_ext.get(src.external_id)
            if row is None:
                row = (by_eppn.get(src.eppn) if src.eppn else None) or by_login.get(src.username)
                if row is not None and row.external_id is not None:
                    self.problems.add(src.where, f"{row.username} is another person's login (external id "
                                                 f"{row.external_id}); rename one of them")
                    continue
            clash = [other for other in (by_login.get(src.username), by_eppn.get(src.eppn or ""))
                     if other is not None and other is not row]
            if clash:
                self.problems.add(src.where, f"{src.username} / {src.eppn}: login or EPPN already held by "
                                             f"{clash[0].username}")
                continue
            eppn = src.eppn or (row.eppn if row is not None else None)  # an empty EPPN erases none
            if row is None:
                row = User(username=src.username, name=src.name, email=src.email, active=True,
                           external_id=src.external_id, eppn=eppn)
                self.s.add(row)
                self.report.added("staff", f"added staff {src.username} ({src.name})")
            else:
                values = {"username": src.username, "name": src.name, "email": src.email,
                          "external_id": src.external_id, "eppn": eppn, "active": True}
                self.changed("staff", f"staff {src.username}", _set(row, values))
            out[src.external_id] = row
        for row in rows:
            if row.external_id and row.external_id not in self.model.staff and row.active:
                row.active = False
                self.report.removed("staff", f"deactivated staff {row.username} ({row.name}): "
                                             "not in the source")
        self.user_names = {r.id: r.username for r in rows}
        return out

    def roles(self, units: dict[str, SchoolUnit], users: dict[str, User]) -> None:
        have = {(r.user_id, r.unit_id, r.role): r for r in self.s.scalars(select(RoleAssignment)).all()}
        want = {(users[p.external_id].id, units[code].id, role)
                for p in self.model.staff.values() for code, role in p.roles}
        for user_id, unit_id, role in sorted(want - have.keys()):
            self.s.add(RoleAssignment(user_id=user_id, unit_id=unit_id, role=role, source="import"))
            self.report.added("roles", f"role {role} at {self.unit_names[unit_id]} added to "
                                       f"{self.user_names[user_id]}")
        for key, row in sorted(have.items()):
            if row.source == "import" and key not in want:
                self.s.delete(row)
                self.report.removed("roles", f"role {row.role} at {self.unit_names[row.unit_id]} "
                                             f"removed from {self.user_names[row.user_id]}")

    def pupils(self, units: dict[str, SchoolUnit], users: dict[str, User]) -> dict[str, Pupil]:
        rows = self.s.scalars(select(Pupil).where(Pupil.external_id.is_not(None)).order_by(Pupil.id)).all()
        by_ext = {r.external_id: r for r in rows}
        out: dict[str, Pupil] = {}
        for src in self.model.pupils.values():
            label = f"pupil {src.given_name} {src.family_name} ({src.external_id})"
            values = {"unit_id": units[src.unit_code].id, "given_name": src.given_name,
                      "family_name": src.family_name, "class_name": src.class_name,
                      "mentor_id": users[src.mentor].id if src.mentor else None,
                      "protected_identity": src.protected, "active": True}
            row = by_ext.get(src.external_id)
            values["birth_date"] = src.birth_date or (row.birth_date if row is not None else None)
            if row is None:
                row = Pupil(external_id=src.external_id, **values)
                self.s.add(row)
                self.report.added("pupils", f"added {label} at {units[src.unit_code].name}")
            else:
                changes = _set(row, values, {"unit_id": self.unit_names, "mentor_id": self.user_names})
                self.changed("pupils", label, changes)
            out[src.external_id] = row
        for r in rows:
            if r.external_id not in self.model.pupils and r.active:
                r.active = False
                self.report.removed("pupils", f"pupil {r.given_name} {r.family_name} ({r.external_id}) "
                                              "deactivated")
        return out

    def guardians(self, pupils: dict[str, Pupil]) -> None:
        query = select(Guardian).where(Guardian.external_id.is_not(None)).order_by(Guardian.id)
        rows = self.s.scalars(query).all()
        by_ext = {r.external_id: r for r in rows}
        ours: list[tuple[GuardianIn, Guardian]] = []
        for src in self.model.guardians.values():
            label = f"guardian {src.given_name} {src.family_name} ({src.external_id})"
            values = {"given_name": src.given_name, "family_name": src.family_name, "email": src.email,
                      "phone": src.phone, "protected_identity": src.protected, "active": True}
            row = by_ext.get(src.external_id)
            if row is None:
                row = Guardian(external_id=src.external_id, **values)
                self.s.add(row)
                self.report.added("guardians", f"added {label}")
            else:
                self.changed("guardians", label, _set(row, values))
            ours.append((src, row))
        for r in rows:
            if r.external_id not in self.model.guardians and r.active:
                r.active = False
                self.report.removed("guardians", f"guardian {r.given_name} {r.family_name} ({r.external_id}) "
                                                 "deactivated")
        self.s.flush()
        self.links(pupils, ours, {r.id for r in rows})

    def links(self, pupils: dict[str, Pupil], ours: list[tuple[GuardianIn, Guardian]],
              managed: set[int]) -> None:
        """Links between the source's pupils and imported guardians, made to match the source."""
        want = {(pupils[p].id, row.id) for src, row in ours for p in src.pupils}
        managed |= {row.id for _, row in ours}
        guardian = {row.id: f"{row.given_name} {row.family_name}" for _, row in ours}
        pupil = {p.id: f"{p.given_name} {p.family_name}" for p in pupils.values()}
        links = self.s.scalars(select(PupilGuardian)).all()
        have = {(link.pupil_id, link.guardian_id): link for link in links
                if link.pupil_id in pupil and link.guardian_id in managed}
        for pupil_id, guardian_id in sorted(want - have.keys()):
            self.s.add(PupilGuardian(pupil_id=pupil_id, guardian_id=guardian_id))
            self.report.added("guardian links", f"guardian {guardian[guardian_id]} linked to pupil "
                                                f"{pupil[pupil_id]}")
        for (pupil_id, guardian_id), link in sorted(have.items()):
            if (pupil_id, guardian_id) not in want:
                self.s.delete(link)
                name = guardian.get(guardian_id) or self._guardian_name(guardian_id)
                self.report.removed("guardian links", f"guardian {name} unlinked from pupil "
                                                      f"{pupil[pupil_id]}")

    def _guardian_name(self, guardian_id: int) -> str:
        row = self.s.get(Guardian, guardian_id)
        return f"{row.given_name} {row.family_name}" if row is not None else str(guardian_id)
