"""Logging in: password checks counted in the `login_attempts` table, so the limits hold across every web
worker and the terminal; finding the person a federated login (OpenID Connect) names.

At most `Limits.per_user` failures per username and `Limits.per_address` per client address within
`Limits.window_minutes` (the web sets them from ELEVFLOW_LOGIN_ATTEMPTS, ..._PER_ADDRESS and
ELEVFLOW_LOGIN_WINDOW_MINUTES; `elevflow sign` counts by username only); beyond that a login is refused
without looking at the password. The rows double as the security log of who tried to log in, from where,
and when: the web's logins, its re-authentications before signing, OpenID Connect logins and the
terminal's (address "cli").

Only a wrong password (or an unknown user) is a failure. An attempt refused because the limit was
reached is logged as refused and does not count, or the lockout would extend itself for as long as
anyone keeps trying; an attempt whose password check never finished (its worker died) counts only
while it could still be running, IN_FLIGHT.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select, update

from ..storage.models import LoginAttempt, User
from . import passwords

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: How long a password check may take: an attempt still unfinished after it was cut off by a crash.
IN_FLIGHT = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    """How many failed logins a window allows: per username, and per client address (None: not counted by
    address, as at the terminal, where every signer's address is "cli")."""

    window_minutes: int
    per_user: int
    per_address: int | None = None


@dataclass(frozen=True)
class Account:
    """The person a login is for, as starting their session needs them."""

    id: int
    username: str
    language: str


@dataclass(frozen=True)
class Outcome:
    """A login's result: the user (None when refused), and whether it was refused for too many tries."""

    user: Account | None
    limited: bool = False


def _account(user: User) -> Account:
    return Account(user.id, user.username, user.language)


def _key(username: str) -> str:
    """The username as the log and the limits count it (a NUL, which no database text holds and no
    username has, is kept visible as U+FFFD)."""
    return username.strip().casefold()[:200].replace("\x00", "\ufffd")


def record(engine: Engine, username: str, address: str, success: bool | None,
           now: datetime | None = None) -> int:
    """Write one login attempt (`success` None: its password is being checked now); return its id."""
    with engine.db.write() as session:
        row = LoginAttempt(username=_key(username), address=address[:64], success=success,
                           at=now or datetime.now(timezone.utc))
        session.add(row)
        session.flush()
        return row.id


def _settle(engine: Engine, attempt_id: int, success: bool, refused: bool = False) -> None:
    with engine.db.write() as session:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id)
                        .values(success=success, refused=refused))


def failures(engine: Engine, username: str, address: str, since: datetime,
             now: datetime | None = None) -> tuple[int, int]:
    """Failed attempts since `since`: for the username (only those after its last success), and for
    the address. Attempts still being checked count (so concurrent ones cannot pass the limit together),
    until IN_FLIGHT has passed; refused ones never do."""
    key = _key(username)
    in_flight = (now or datetime.now(timezone.utc)) - IN_FLIGHT
    failed = or_(and_(LoginAttempt.success.is_(False), LoginAttempt.refused.is_(False)),
                 and_(LoginAttempt.success.is_(None), LoginAttempt.at >= in_flight))
    with engine.db.read() as session:
        last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == key, LoginAttempt.success.is_(True), LoginAttempt.at >= since))
        start = max(since, last_ok) if last_ok is not None else since
        by_user = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == key, failed, LoginAttempt.at >= start)) or 0
        by_address = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.address == address[:64], failed, LoginAttempt.at >= since)) or 0
    return by_user, by_address


def password_login(engine: Engine, username: str, password: str, address: str, limits: Limits) -> Outcome:
    """Check a username and password, within the limits.

    Algorithm (several workers may run it at once for one username):
    1. Write this attempt as being checked, and commit — so every concurrent attempt is counted before
       any of them checks a password, and racing workers cannot together exceed the limit.
    2. Count the failures in the window, this one included: for the username since its last success,
       and for the address. Over either limit: the attempt is marked refused (it never counts as a
       failure itself) and the password is not checked.
    3. Find the active user and verify the password — against a dummy hash when there is no such user
       or no local password, so an unknown username takes as long as a known one.
    4. Mark the attempt a failure or a success; on success upgrade the hash if it was made with weaker
       parameters. A worker that dies before this leaves the attempt unfinished: it counts for
       IN_FLIGHT only (see `failures`).
    """
    now = datetime.now(timezone.utc)
    attempt_id = record(engine, username, address, None, now)
    since = now - timedelta(minutes=limits.window_minutes)
    by_user, by_address = failures(engine, username, address, since, now)
    if by_user > limits.per_user or (limits.per_address is not None and by_address > limits.per_address):
        _settle(engine, attempt_id, False, refused=True)
        return Outcome(None, limited=True)
    with engine.db.read() as session:  # a username holding a NUL belongs to nobody (and is no text to query)
        user = None if "\x00" in username else session.scalars(
            select(User).where(User.username == username.strip())).first()
    stored = user.password_hash if user is not None and user.active else None
    if not passwords.verify_password(engine, stored, password) or user is None:
        _settle(engine, attempt_id, False)
        return Outcome(None)
    with engine.db.write() as session:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(success=True))
        if stored and passwords.needs_rehash(engine, stored):
            session.execute(update(User).where(User.id == user.id)
                            .values(password_hash=passwords.hash_password(engine, password)))
    return Outcome(_account(user))


def federated_user(engine: Engine, identity: str | None) -> Account | None:
    """The active user whose federated identity (users.eppn: the provider's `eppn` or
    `preferred_username` claim) is `identity`, or None. Never matched against the local username, which
    a provider might let people choose; nobody is created here."""
    if not identity or "\x00" in identity:
        return None
    with engine.db.read() as session:
        user = session.scalars(select(User).where(User.eppn == identity)).first()
    return _account(user) if user is not None and user.active else None
