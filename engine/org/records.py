"""The organisation, minimally: organisers, school units, staff with roles per unit, pupils.

Import from CSV and SS 12000 builds on these functions (one place that writes organisation rows).
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..storage.models import Organiser, Pupil, RoleAssignment, SchoolBreak, SchoolUnit, User
from .roles import ROLES

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine


def add_organiser(session: Session, name: str, external_id: str | None = None) -> Organiser:
    row = Organiser(name=name, external_id=external_id)
    session.add(row)
    session.flush()
    return row


def add_unit(session: Session, code: str, name: str, organiser_id: int | None = None,
             postal_address: str | None = None) -> SchoolUnit:
    row = SchoolUnit(code=code, name=name, organiser_id=organiser_id, postal_address=postal_address)
    session.add(row)
    session.flush()
    return row


def add_user(session: Session, username: str, name: str, email: str | None = None) -> User:
    row = User(username=username, name=name, email=email, active=True)
    session.add(row)
    session.flush()
    return row


def assign_role(session: Session, user_id: int, unit_id: int, role: str) -> RoleAssignment:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known roles: {', '.join(ROLES)}")
    row = RoleAssignment(user_id=user_id, unit_id=unit_id, role=role)
    session.add(row)
    session.flush()
    return row


def add_pupil(session: Session, unit_id: int, given_name: str, family_name: str,
              class_name: str | None = None, external_id: str | None = None,
              birth_date: date | None = None) -> Pupil:
    row = Pupil(unit_id=unit_id, given_name=given_name, family_name=family_name, class_name=class_name,
                external_id=external_id, birth_date=birth_date)
    session.add(row)
    session.flush()
    return row


def add_break(engine: Engine, name: str, first_day: str, last_day: str,
              unit_code: str | None = None) -> SchoolBreak:
    """Record a school break (lov) that business days skip, for one unit (by skolenhetskod) or all."""
    try:
        first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    except ValueError:
        raise ValueError("dates must be written YYYY-MM-DD") from None
    if last < first:
        raise ValueError(f"the break ends ({last}) before it starts ({first})")
    if (last - first).days > 100:
        raise ValueError("a break longer than 100 days is surely a mistake")
    if not name.strip():
        raise ValueError("a break needs a name, e.g. Sportlov")
    with engine.db.write() as session:
        unit_id = None
        if unit_code:
            unit = session.scalars(select(SchoolUnit).where(SchoolUnit.code == unit_code)).first()
            if unit is None:
                raise NotFoundError(f"no school unit with code {unit_code}")
            unit_id = unit.id
        row = SchoolBreak(unit_id=unit_id, name=name.strip(), first_day=first.isoformat(),
                          last_day=last.isoformat())
        session.add(row)
    engine.breaks.refresh()
    return row


def remove_break(engine: Engine, break_id: int) -> None:
    with engine.db.write() as session:
        row = session.get(SchoolBreak, break_id)
        if row is None:
            raise NotFoundError(f"no school break {break_id}")
        session.delete(row)
    engine.breaks.refresh()


def breaks(engine: Engine) -> list[tuple[SchoolBreak, str]]:
    """Every recorded break with the unit it applies to ("alla skolenheter" for all)."""
    with engine.db.read() as session:
        rows = session.execute(select(SchoolBreak, SchoolUnit.name).outerjoin(
            SchoolUnit, SchoolUnit.id == SchoolBreak.unit_id).order_by(SchoolBreak.first_day)).all()
        return [(row, unit or "alla skolenheter") for row, unit in rows]


def user_by_username(engine: Engine, username: str) -> User:
    with engine.db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        return user
