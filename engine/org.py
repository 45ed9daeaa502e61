"""The organisation, minimally: organisers, school units, staff with roles per unit, pupils.

Import from CSV and SS 12000 builds on these functions (one place that writes organisation rows).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFoundError
from .models import Organiser, Pupil, RoleAssignment, SchoolUnit, User
from .roles import ROLES
from .store import Database


def add_organiser(session: Session, name: str, external_id: str | None = None) -> Organiser:
    row = Organiser(name=name, external_id=external_id)
    session.add(row)
    session.flush()
    return row


def add_unit(session: Session, code: str, name: str, organiser_id: int | None = None) -> SchoolUnit:
    row = SchoolUnit(code=code, name=name, organiser_id=organiser_id)
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
              class_name: str | None = None, external_id: str | None = None) -> Pupil:
    row = Pupil(unit_id=unit_id, given_name=given_name, family_name=family_name, class_name=class_name,
                external_id=external_id)
    session.add(row)
    session.flush()
    return row


def user_by_username(db: Database, username: str) -> User:
    with db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        return user
