"""Who is logged in: the session, its idle timeout, `login_required`, and recent authentication.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure outside the demo and tests). It
holds the user's id, when they logged in, when they last proved who they are (signing asks for that to
be recent), when they were last seen and their language. Every request reloads the user, so a person
made inactive is logged out at their next click; a session unused for ELEVFLOW_SESSION_IDLE_MINUTES ends,
and every session ends ELEVFLOW_SESSION_MAX_HOURS after its login, however busy.
Every view requires a login unless marked `public`; a view that forgets `login_required` is still
protected, by the check before each request.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from elevflow.engine.org import logins
from elevflow.engine.org.logins import Account
from elevflow.engine.views import people

from . import extensions
from .i18n import LANGUAGES

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "_elevflow_public"
SEEN_EVERY = 60  # seconds: how often the last-seen time (and so the cookie) is refreshed
MAX_FLASHES = 5  # messages waiting to be shown, at most


def public(view: F) -> F:
    """Mark a view as open without a login (the login pages, the language switch)."""
    setattr(view, PUBLIC, True)
    return view


def login_required(view: F) -> F:
    """Send a visitor who is not logged in to the login page, and back here afterwards."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return to_login()
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def to_login() -> Any:
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=safe_next(target)))


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (never another site: no open redirects), else None. A target
    with a control character (CR or LF would split the Location header) is a malformed request: 400."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        abort(400)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target.rstrip("?") or None


def login_user(user: Account, *, authenticated_at: float | None = None) -> None:
    """Start a fresh session for `user` (nothing of the anonymous session is kept but a language chosen
    on the login page; otherwise the user's own)."""
    language = session.get("lang") if session.get("lang") in LANGUAGES else user.language
    session.clear()
    now = time.time()
    session.update(uid=user.id, login_at=now, auth_at=authenticated_at or now, seen=now, lang=language)


def logout_user() -> None:
    session.clear()


def recently_authenticated(minutes: int) -> bool:
    """Whether the current user proved who they are (logged in or re-entered their password) within
    the last `minutes` minutes: what signing a decision asks for."""
    auth_at = session.get("auth_at")
    return g.get("user") is not None and auth_at is not None and time.time() - auth_at <= minutes * 60


def authenticated_at() -> datetime | None:
    """When the current user last proved who they are (an aware time), if known."""
    auth_at = session.get("auth_at")
    return datetime.fromtimestamp(auth_at, timezone.utc) if isinstance(auth_at, (int, float)) else None


def login_limits() -> logins.Limits:
    """The login limits this app was configured with (ELEVFLOW_LOGIN_*)."""
    config = current_app.config
    return logins.Limits(config["LOGIN_WINDOW_MINUTES"], config["LOGIN_ATTEMPTS"],
                         config["LOGIN_ATTEMPTS_PER_ADDRESS"])


def reauthenticate(password: str) -> bool:
    """Check the current user's password again (counted like a login, so it cannot be guessed at);
    on success the session's recent-authentication time is now."""
    user = g.get("user")
    if user is None:
        return False
    outcome = logins.password_login(extensions.engine(), user.username, password, request.remote_addr or "",
                                    login_limits())
    if outcome.user is None or outcome.user.id != user.id:
        return False
    session["auth_at"] = time.time()
    return True


def _open_reads() -> None:
    """Before each request: its reads share one database connection (engine Database.reads)."""
    scope = extensions.engine().db.reads()
    scope.__enter__()
    g._elevflow_reads = scope


def _close_reads(_error: BaseException | None) -> None:
    scope = g.pop("_elevflow_reads", None)
    if scope is not None:
        scope.__exit__(None, None, None)


def _load_user() -> None:
    """Before each request: the logged-in user as g.user, or None (ending an idle or stale session)."""
    g.user = None
    uid = session.get("uid")
    if uid is None:
        return
    now = time.time()
    idle = current_app.config["SESSION_IDLE_MINUTES"]
    longest = current_app.config["SESSION_MAX_HOURS"]
    if now - session.get("login_at", 0) > longest * 3600:
        session.clear()
        flash(_("Du har loggats ut eftersom du loggade in för mer än %(hours)s timmar sedan. Logga in igen.",
                hours=longest), "info")
        return
    if now - session.get("seen", 0) > idle * 60:
        session.clear()
        flash(_("Du har loggats ut eftersom du inte har gjort något på %(minutes)s minuter.", minutes=idle),
              "info")
        return
    user = people.current_user(extensions.engine(), uid)
    if user is None or not user.active:
        session.clear()
        return
    g.user = user
    if now - session["seen"] >= SEEN_EVERY:
        session["seen"] = now


def _require_login() -> Any:
    """Before each request: every view but the public ones wants a logged-in user."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and not getattr(view, PUBLIC, False) and g.user is None:
        return to_login()
    return None


def _trim_flashes(response: Any) -> Any:
    """After each request: keep only the latest few unshown messages, so a session whose redirects are
    never followed (a script, a closed tab) cannot grow its cookie without bound."""
    waiting = session.get("_flashes")
    if waiting and len(waiting) > MAX_FLASHES:
        session["_flashes"] = waiting[-MAX_FLASHES:]
    return response


def init_app(app: Flask) -> None:
    app.before_request(_open_reads)
    app.teardown_request(_close_reads)
    app.before_request(_load_user)
    app.before_request(_require_login)
    app.after_request(_trim_flashes)
