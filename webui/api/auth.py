"""Who calls the API: a bearer token (`Authorization: Bearer elv_...`) or the logged-in user's session.

A token acts as its user (engine/org/apitokens.py): every engine call below is made with that user's id, so
need-to-know, the access log and every right are the user's, as on the pages — the token only narrows
them, to its scopes and its units. A session is the browser's: unsafe methods need the CSRF token
(X-CSRFToken), as the pages' forms do. Rate limits: a fixed window of a minute per token (its
`rate_limit`) or per session user (SESSION_LIMIT), counted in this worker process (docs/api.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from elevflow.engine.org import apitokens
from elevflow.engine.org.apitokens import TokenInfo
from elevflow.engine.views import people

from .. import extensions
from .problems import ApiProblem

SESSION_LIMIT = 600  # requests a minute for a logged-in user's own session
WINDOW = 60  # seconds
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Caller:
    """The user the API acts as, and the token narrowing them (None: their own session)."""

    user_id: int
    token: TokenInfo | None

    def may(self, scope: str | None) -> bool:
        return scope is None or self.token is None or scope in self.token.scopes

    def reaches(self, unit_id: int | None) -> bool:
        """Whether the token reaches the school unit (a session, or a token for every unit, does)."""
        return self.token is None or self.token.unit_ids is None or unit_id in self.token.unit_ids


class Window:
    """Fixed one-minute windows of request counts, per key, in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, tuple[int, int]] = {}  # key -> (window, count)

    def take(self, key: str, limit: int, now: float | None = None) -> int | None:
        """Count a request; None if within the limit, else the seconds until the next window."""
        now = time.time() if now is None else now
        window = int(now // WINDOW)
        with self.lock:
            if len(self.counts) > 10_000:  # forget other windows' keys
                self.counts = {k: v for k, v in self.counts.items() if v[0] == window}
            seen, count = self.counts.get(key, (window, 0))
            count = count + 1 if seen == window else 1
            self.counts[key] = (window, count)
        return None if count <= limit else int(WINDOW - now % WINDOW) + 1


def caller() -> Caller:
    found = g.get("api_caller")
    if found is None:
        raise ApiProblem(401)
    return found


def authenticate(public: bool) -> None:
    """Before each API request: the caller (g.api_caller and g.user), CSRF for a session's unsafe method,
    the rate limit. Raises ApiProblem."""
    header = request.headers.get("Authorization", "")
    engine = extensions.engine()
    if header:
        scheme, _, secret = header.partition(" ")
        token = apitokens.authenticate(engine, secret.strip()) if scheme.lower() == "bearer" else None
        user = people.current_user(engine, token.user_id) if token is not None else None
        if token is None or user is None or not user.active:
            raise ApiProblem(
                401,
                "The API token is unknown, revoked, or its account is inactive.",
                headers={"WWW-Authenticate": 'Bearer realm="elevflow"'},
            )
        g.user, g.api_caller = user, Caller(user.id, token)
        key, limit = f"token:{token.id}", token.rate_limit
    elif g.get("user") is not None:
        if request.method in UNSAFE:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except (ValidationError, CSRFError) as exc:
                raise ApiProblem(403, "A session's unsafe request needs the X-CSRFToken header.") from exc
        g.api_caller = Caller(g.user.id, None)
        key, limit = f"user:{g.user.id}", SESSION_LIMIT
    elif public:
        return
    else:
        raise ApiProblem(401, headers={"WWW-Authenticate": 'Bearer realm="elevflow"'})
    wait = _window().take(key, limit)
    if wait is not None:
        raise ApiProblem(429, f"At most {limit} requests a minute.", headers={"Retry-After": str(wait)})


def _window() -> Window:
    state: Any = current_app.extensions.setdefault("elevflow_api_window", Window())
    return state
