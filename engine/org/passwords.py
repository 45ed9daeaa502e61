"""Local passwords: argon2id hashes (argon2-cffi), for the embedded default without a login service.

A password is stored only as its argon2id hash (the RFC 9106 low-memory profile argon2-cffi uses by
default, with a fresh salt each time). Checking a password always costs one verification, also for a user
who does not exist or has no local password, so the time a login takes does not reveal which usernames
exist. A hash made with older parameters is upgraded at the next successful login (`needs_rehash`).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..errors import NotFoundError
from ..storage import audit
from ..storage.dbapi import within
from ..storage.models import User

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: The shortest password `set_password` accepts (NIST SP 800-63B asks for at least 8; staff here
#: handle confidential pupil records, so more).
MIN_LENGTH = 12
#: The longest: hashing is deliberately slow, so an enormous password must not tie up a worker.
MAX_LENGTH = 1024

#: Per hashing parameters, a hash of a password nobody has (a cache of constants, not a service).
_dummies: dict[tuple[object, ...], str] = {}


def _dummy(hasher: PasswordHasher) -> str:
    """A hash of a password nobody has, made with the hasher's parameters: what an unknown user's
    password is checked against, so that costs the same as a real check."""
    params = hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len
    found = _dummies.get(params)
    if found is None:
        found = _dummies[params] = hasher.hash("elevflow: no such user has a password")
    return found


def check_strength(password: str) -> None:
    """Refuse a password too short to protect pupil records, or too long to hash; ValueError says why."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(engine: Engine, password: str) -> str:
    """The argon2id hash to store for a password (a new random salt every time), by the engine's hasher."""
    return engine.hasher.hash(password)


def verify_password(engine: Engine, stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash. `stored` None (no such user, or no local password)
    is never a match, but takes as long to refuse as a wrong password."""
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]  # still hashed, so the refusal takes the usual time
    try:
        return engine.hasher.verify(stored or _dummy(engine.hasher), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(engine: Engine, stored: str) -> bool:
    """Whether a hash was made with parameters weaker than today's (re-hash it at the next login)."""
    try:
        return engine.hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def set_password(engine: Engine, username: str, password: str, *, by: int | None = None) -> None:
    """Give a user a local password (checked by `check_strength`); NotFoundError if there is no such user.
    Audited as "password_set" (who, for whom; never the password or its hash). `by`: the acting user, or
    None for the operator at the command line."""
    check_strength(password)
    _change(engine, username, hash_password(engine, password), "password_set", by)


def clear_password(engine: Engine, username: str, *, by: int | None = None) -> None:
    """Take a user's local password away (they can then log in only through the login service).
    Audited as "password_cleared"."""
    _change(engine, username, None, "password_cleared", by)


def _change(engine: Engine, username: str, hashed: str | None, kind: str, by: int | None) -> None:
    with engine.db.write() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        user.password_hash = hashed
        session.flush()
        audit.append(within(session, engine.db.dialect), [audit.Event(kind, by, data={
            "user_id": user.id, "username": username})], datetime.now(timezone.utc))
