"""Names to show beside ids: routines, school units, pupils, users. One query per kind of name."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select

from engine.models import Pupil, SchoolUnit, User
from engine.notify import STOCKHOLM
from engine.roles import ROLES
from engine.store import Database


def unit_names(db: Database, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    with db.read() as session:
        rows = session.execute(select(SchoolUnit.id, SchoolUnit.name).where(SchoolUnit.id.in_(wanted)))
        return {unit_id: name for unit_id, name in rows}


def user_names(db: Database, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    with db.read() as session:
        rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
        return {user_id: name for user_id, name in rows}


def pupils(db: Database, ids: Iterable[int]) -> dict[int, Pupil]:
    wanted = set(ids)
    if not wanted:
        return {}
    with db.read() as session:
        return {p.id: p for p in session.scalars(select(Pupil).where(Pupil.id.in_(wanted)))}


def pupil_label(pupil: Pupil | None, *, in_list: bool = True) -> str:
    """How a pupil is shown: name and class; in lists, never the name of one with a protected identity."""
    if pupil is None:
        return "–"
    if pupil.protected_identity and in_list:
        return _("Elev med skyddade personuppgifter")
    name = f"{pupil.given_name} {pupil.family_name}"
    return f"{name} ({pupil.class_name})" if pupil.class_name else name


def local_time(moment: datetime) -> str:
    """A moment as Swedish local date and time, e.g. 2026-11-23 14:05."""
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def role_name(key: str | None, language: str) -> str:
    role = ROLES.get(key or "")
    if role is None:
        return key or "–"
    return role.en if language == "en" else role.sv


def _patterns(term: str) -> set[str]:
    """LIKE patterns for a search term: SQLite folds case only for A-Z, so Å, Ä and Ö are tried both ways."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {f"%{variant}%" for variant in (escaped, escaped.lower(), escaped.capitalize(), escaped.upper())}


def search_pupils(db: Database, unit_ids: Iterable[int], term: str, limit: int = 50) -> list[Pupil]:
    """Active pupils at the given units whose name or class matches `term` (never those with a protected
    identity: they are not listed)."""
    units = set(unit_ids)
    term = " ".join(term.split())
    if not units or len(term) < 2 or "\x00" in term:  # no name holds a NUL (nor can a query's text)
        return []
    full_name = Pupil.given_name + " " + Pupil.family_name
    columns = (Pupil.given_name, Pupil.family_name, full_name, Pupil.class_name)
    conditions = [column.ilike(pattern, escape="\\") for pattern in _patterns(term) for column in columns]
    with db.read() as session:
        return list(session.scalars(
            select(Pupil).where(Pupil.unit_id.in_(units), Pupil.active.is_(True),
                                Pupil.protected_identity.is_(False), or_(*conditions))
            .order_by(Pupil.family_name, Pupil.given_name, Pupil.id).limit(limit)))
