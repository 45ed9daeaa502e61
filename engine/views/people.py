"""Staff as a request needs them: the logged-in user, and who works at a school unit in which roles."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import update

from ..org import access
from ..org.apitokens import ADMIN_ROLE
from ..oversight.quality import FOLLOW_UP_ROLES
from ..routines.editing import OWNER_ROLE
from ..storage.dbapi import Sql, Tx
from ..storage.models import User

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

UNREAD = "(SELECT count(*) FROM notifications n WHERE n.user_id = users.id AND n.read_at IS NULL)"
_FOLLOWS_UP = ", ".join(f"'{role}'" for role in sorted(FOLLOW_UP_ROLES))  # fixed role keys, never input
FOLLOWS_UP = f"""CASE WHEN EXISTS (SELECT 1 FROM role_assignments r WHERE r.user_id = users.id
    AND r.role IN ({_FOLLOWS_UP})) THEN 1 ELSE 0 END"""
OWNS_PROCESSES = f"""CASE WHEN EXISTS (SELECT 1 FROM role_assignments r WHERE r.user_id = users.id
    AND r.role = '{OWNER_ROLE}') THEN 1 ELSE 0 END"""
ADMINISTERS = f"""CASE WHEN EXISTS (SELECT 1 FROM role_assignments r WHERE r.user_id = users.id
    AND r.role = '{ADMIN_ROLE}') THEN 1 ELSE 0 END"""
USER = Sql(f"""SELECT id, username, name, email, active, language, password_hash IS NOT NULL, {UNREAD},
    {FOLLOWS_UP}, {OWNS_PROCESSES}, {ADMINISTERS} FROM users WHERE id = :id""")
STAFF = Sql("""SELECT u.id, u.name, r.role FROM role_assignments r JOIN users u ON u.id = r.user_id
    WHERE r.unit_id = :unit_id AND u.active = :yes ORDER BY u.name, u.id""")
UNITS_OF = Sql("SELECT unit_id, role FROM role_assignments WHERE user_id = :user_id")


@dataclass(frozen=True)
class CurrentUser:
    """Who is logged in, as every request needs them: read with their count of unread notifications."""

    id: int
    username: str
    name: str
    email: str | None
    active: bool
    language: str
    has_password: bool  # a local password (people who log in through OpenID Connect may have none)
    unread: int
    follows_up: bool  # holds a role that follows up quality somewhere (quality.scope_for says where)
    owns_processes: bool  # holds the process-owner role (editing.is_process_owner)
    administers: bool = False  # holds the huvudman role: administers the API's tokens and webhooks


def current_user(engine: Engine, user_id: int) -> CurrentUser | None:
    """A user with their unread count, in one statement (None if there is no such user)."""
    with engine.db.snapshot() as tx:
        row = tx.first(USER, {"id": user_id})
    if row is None:
        return None
    return CurrentUser(row[0], row[1], row[2], row[3], bool(row[4]), row[5], bool(row[6]), int(row[7] or 0),
                       bool(row[8]), bool(row[9]), bool(row[10]))


def staff_at(tx: Tx, unit_id: int) -> list[tuple[int, str, str]]:
    """(user id, name, role) of every role held by an active person at the unit, by name."""
    return [(uid, name, role) for uid, name, role in tx.all(STAFF, {"unit_id": unit_id, "yes": True})]


def units_of(tx: Tx, user_id: int) -> dict[int, set[str]]:
    """The school units a user works at, with their roles at each."""
    units: dict[int, set[str]] = {}
    for unit_id, role in tx.all(UNITS_OF, {"user_id": user_id}):
        units.setdefault(unit_id, set()).add(role)
    return units


def units(engine: Engine, user_id: int) -> dict[int, set[str]]:
    """`units_of` in a read of its own."""
    with engine.db.snapshot() as tx:
        return units_of(tx, user_id)


def case_units(engine: Engine, user_id: int) -> dict[int, set[str]]:
    """The units where the user works on cases (holds a role but the process owner's), with their roles:
    where they may find pupils and start routines for them."""
    return {unit: roles for unit, roles in units(engine, user_id).items() if roles & access.CASE_ROLES}


def roles_at(engine: Engine, user_id: int, unit_id: int) -> set[str]:
    """The roles a user holds at one school unit (access.roles_at_unit, in a read of its own)."""
    with engine.db.snapshot() as tx:
        return access.roles_at_unit(tx, user_id, unit_id)


def set_language(engine: Engine, user_id: int, language: str) -> None:
    """Remember the language a user chose for the pages."""
    with engine.db.write() as session:
        session.execute(update(User).where(User.id == user_id).values(language=language))
