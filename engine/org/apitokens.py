"""API tokens: how another system (or a person's tool) authenticates to the integration API.

A token acts as one user — normally a system account (`users.system_account`) that the organisation gave
roles at school units like anyone else — and can only narrow that user's rights: to its scopes (what kinds
of operation) and, when `unit_ids` is set, to those school units. So every need-to-know rule, every access
check and every access-log row is the user's, exactly as on the pages (docs/api.md).

Only the SHA-256 of the secret is stored (the secret is 32 random bytes, so a plain hash is enough: there is
nothing to guess); the first characters, `prefix`, are kept to tell tokens apart on the admin page. The
token is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ..errors import ConflictError, NotFoundError, PermissionDeniedError
from ..storage.models import ApiToken, RoleAssignment, User

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: What a token may be allowed to do (one or more), each a group of API operations (docs/api.md).
SCOPES: dict[str, str] = {
    "routines:read": "read the routines and their versions",
    "cases:read": "list and read cases, their state and decision documents",
    "cases:start": "start a case",
    "tasks:read": "read the inbox and a unit's pool of open tasks",
    "tasks:complete": "complete a task with its form data",
    "audit:read": "export a case's audit trail and (the rektor's) access log",
    "organisation:import": "import the organisation (SS 12000)",
}
#: Who administers the integration (tokens and webhooks) in the web app: the school organiser's role.
ADMIN_ROLE = "huvudman"
#: Bearer tokens look like this prefix followed by the secret (so a leaked one is easy to scan for).
TOKEN_PREFIX = "elv_"
SHOWN = 12  # characters of the token kept in clear, to tell tokens apart
DEFAULT_RATE_LIMIT = 600  # requests a minute
#: How often a token's last use is written (each request would otherwise write a row).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    """A token as the admin page and the API see it (never its secret)."""

    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    unit_ids: tuple[int, ...] | None
    rate_limit: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown or no scopes {unknown!r}; known: {', '.join(SCOPES)}")
    return tuple(sorted(set(scopes)))


def create_token(
    engine: Engine,
    username: str,
    name: str,
    scopes: list[str] | tuple[str, ...],
    *,
    unit_ids: list[int] | None = None,
    by: int | None,
    system_only: bool = True,
    rate_limit: int = DEFAULT_RATE_LIMIT,
) -> tuple[TokenInfo, str]:
    """Create a token for the user `username` (a system account unless `system_only` is False: the
    command line may give a token to a person's account); returns it and its secret, shown only now.
    `unit_ids` narrows it to those units, each one where the user holds a role. ValueError: bad scopes,
    units or name; NotFoundError: no such active user; PermissionDeniedError: not a system account."""
    chosen = _check_scopes(scopes)
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ValueError("a token needs a name of at most 200 printable characters")
    if not 1 <= rate_limit <= 100_000:
        raise ValueError("the rate limit is between 1 and 100000 requests a minute")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    with engine.db.write() as session:
        user = session.execute(
            select(User).where(User.username == username, User.active)
        ).scalar_one_or_none()
        if user is None:
            raise NotFoundError(f"no active user {username!r}")
        if system_only and not user.system_account:
            raise PermissionDeniedError(f"{username!r} is not a system account")
        if unit_ids is not None:
            held = set(
                session.execute(
                    select(RoleAssignment.unit_id).where(RoleAssignment.user_id == user.id)
                ).scalars()
            )
            if not unit_ids or any(u not in held for u in unit_ids):
                raise ValueError("a token's units must be units where its account holds a role")
        row = ApiToken(
            user_id=user.id,
            name=name,
            prefix=secret[:SHOWN],
            secret_sha256=_digest(secret),
            scopes=list(chosen),
            unit_ids=sorted(set(unit_ids)) if unit_ids is not None else None,
            rate_limit=rate_limit,
            created_by=by,
            created_at=now,
        )
        session.add(row)
        session.flush()
        info = _info(row, user.username)
    return info, secret


def revoke_token(engine: Engine, token_id: int, *, by: int | None) -> None:
    """Revoke a token: from now on it authenticates nothing. ConflictError if it already was."""
    with engine.db.write() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError(f"no API token {token_id}")
        if row.revoked_at is not None:
            raise ConflictError("conflict.token_revoked", token=str(token_id))
        row.revoked_at, row.revoked_by = datetime.now(timezone.utc), by


def tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, newest first (the admin page, `elevflow api-token list`)."""
    with engine.db.read() as session:
        rows = session.execute(
            select(ApiToken, User.username)
            .join(User, User.id == ApiToken.user_id)
            .order_by(ApiToken.id.desc())
        ).all()
    return [_info(row, username) for row, username in rows]


def authenticate(engine: Engine, secret: str) -> TokenInfo | None:
    """The active token whose secret this is, its user still active (None otherwise); records its use
    (at most once a minute)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    with engine.db.read() as session:
        found = session.execute(
            select(ApiToken, User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.secret_sha256 == digest, ApiToken.revoked_at.is_(None), User.active)
        ).first()
    if found is None:
        return None
    row, username = found
    now = datetime.now(timezone.utc)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        with engine.db.write() as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return _info(row, username)


def system_accounts(engine: Engine) -> list[tuple[int, str, str]]:
    """(id, username, name) of every active system account, for the admin page's choice."""
    with engine.db.read() as session:
        return [
            (r.id, r.username, r.name)
            for r in session.execute(
                select(User.id, User.username, User.name)
                .where(User.system_account, User.active)
                .order_by(User.username)
            ).all()
        ]


def _info(row: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.user_id,
        username,
        row.name,
        row.prefix,
        tuple(row.scopes),
        tuple(row.unit_ids) if row.unit_ids is not None else None,
        row.rate_limit,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )
