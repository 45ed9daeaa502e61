"""The app's configuration: every ELEVFLOW_* setting, overridden by what create_app is given.

A setting's config key is its name without the prefix (ELEVFLOW_SECRET_KEY is SECRET_KEY, Flask's own).
Cookie and CSRF settings follow from them and are not meant to be overridden.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from elevflow.engine import settings
from elevflow.engine.errors import ElevflowError

PREFIX = "ELEVFLOW_"
NO_SECRET = (
    "ELEVFLOW_SECRET_KEY is not set, so the web app cannot sign its sessions and will not start. Set it to "
    "at least 32 random characters, the same for every web worker, for example from a file:\n"
    "  python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > /etc/elevflow/secret_key\n"
    "  export ELEVFLOW_SECRET_KEY_FILE=/etc/elevflow/secret_key\n"
    "(`elevflow demo` makes one for the demo by itself.)")


def is_local_http(base_url: str) -> bool:
    """Whether the app is reached over plain http on this machine only (the demo)."""
    parts = urlsplit(base_url)
    return parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"}


def load(overrides: dict[str, Any], config: settings.Config) -> dict[str, Any]:
    """The app's config: each setting from `config` (the environment's, with `overrides` applied by
    settings.load), and the other keys `overrides` gives (Flask's own)."""
    values: dict[str, Any] = {field.upper(): value for field, value in vars(config).items()}
    values.update(overrides)
    testing = bool(values.get("TESTING"))
    if not values.get("SECRET_KEY"):
        if not testing:
            raise ElevflowError(NO_SECRET)
        values["SECRET_KEY"] = secrets.token_urlsafe(48)
    secure = not (testing or is_local_http(values["BASE_URL"]))
    values.update(
        SESSION_COOKIE_NAME="__Host-elevflow" if secure else "elevflow",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The idle timeout and the absolute lifetime end sessions, on the server (sessions.py); this only
        # bounds how long ago a signed cookie may have been written.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=values["SESSION_MAX_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # a form token lives as long as its session
        WTF_CSRF_SSL_STRICT=secure,
        PREFERRED_URL_SCHEME="https" if secure else "http",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        HSTS=secure and values["BASE_URL"].startswith("https://"),
    )
    return values
