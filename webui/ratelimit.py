"""Password logins, counted in the `login_attempts` table so the limits hold across every web worker.

At most ELEVFLOW_LOGIN_ATTEMPTS failures per username and ELEVFLOW_LOGIN_ATTEMPTS_PER_ADDRESS per client
address within ELEVFLOW_LOGIN_WINDOW_MINUTES; beyond that a login is refused without looking at the
password. The rows double as the security log of who tried to log in, from where, and when.

Only a wrong password (or an unknown user) is a failure. An attempt refused because the limit was
reached is logged as refused and does not count, or the lockout would extend itself for as long as
anyone keeps trying; an attempt whose password check never finished (its worker died) counts only
while it could still be running, IN_FLIGHT.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from engine import passwords
from engine.models import LoginAttempt, User
from engine.store import Database

#: How long a password check may take: an attempt still unfinished after it was cut off by a crash.
IN_FLIGHT = timedelta(minutes=1)


@dataclass(frozen=True)
class Outcome:
    """A login's result: the user (None when refused), and whether it was refused for too many tries."""

    user: User | None
    limited: bool = False


def _key(username: str) -> str:
    """The username as the log and the limits count it (a NUL, which no database text holds and no
    username has, is kept visible as U+FFFD)."""
    return username.strip().casefold()[:200].replace("\x00", "\ufffd")


def record(db: Database, username: str, address: str, success: bool | None,
           now: datetime | None = None) -> int:
    """Write one login attempt (`success` None: its password is being checked now); return its id."""
    with db.write() as session:
        row = LoginAttempt(username=_key(username), address=address[:64], success=success,
                           at=now or datetime.now(timezone.utc))
        session.add(row)
        session.flush()
        return row.id


def _settle(db: Database, attempt_id: int, success: bool, refused: bool = False) -> None:
    with db.write() as session:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id)
                        .values(success=success, refused=refused))


def failures(db: Database, username: str, address: str, since: datetime,
             now: datetime | None = None) -> tuple[int, int]:
    """Failed attempts since `since`: for the username (only those after its last success), and for
    the address. Attempts still being checked count (so concurrent ones cannot pass the limit together),
    until IN_FLIGHT has passed; refused ones never do."""
    key = _key(username)
    in_flight = (now or datetime.now(timezone.utc)) - IN_FLIGHT
    failed = or_(and_(LoginAttempt.success.is_(False), LoginAttempt.refused.is_(False)),
                 and_(LoginAttempt.success.is_(None), LoginAttempt.at >= in_flight))
    with db.read() as session:
        last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == key, LoginAttempt.success.is_(True), LoginAttempt.at >= since))
        start = max(since, last_ok) if last_ok is not None else since
        by_user = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == key, failed, LoginAttempt.at >= start)) or 0
        by_address = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.address == address[:64], failed, LoginAttempt.at >= since)) or 0
    return by_user, by_address


def password_login(db: Database, username: str, password: str, address: str) -> Outcome:
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
    config = current_app.config
    now = datetime.now(timezone.utc)
    attempt_id = record(db, username, address, None, now)
    since = now - timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    by_user, by_address = failures(db, username, address, since, now)
    if by_user > config["LOGIN_ATTEMPTS"] or by_address > config["LOGIN_ATTEMPTS_PER_ADDRESS"]:
        _settle(db, attempt_id, False, refused=True)
        return Outcome(None, limited=True)
    with db.read() as session:  # a username holding a NUL belongs to nobody (and is no text to query)
        user = None if "\x00" in username else session.scalars(
            select(User).where(User.username == username.strip())).first()
    stored = user.password_hash if user is not None and user.active else None
    if not passwords.verify_password(stored, password) or user is None:
        _settle(db, attempt_id, False)
        return Outcome(None)
    with db.write() as session:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(success=True))
        if stored and passwords.needs_rehash(stored):
            session.execute(update(User).where(User.id == user.id)
                            .values(password_hash=passwords.hash_password(password)))
    return Outcome(user)
