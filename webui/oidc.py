"""Login through the municipality's OpenID Connect provider (Authlib), when ELEVFLOW_OIDC_ISSUER is set.

Staff are matched on the `eppn` claim (eduPersonPrincipalName, as Skolfederation and most school
identity providers give it), or `preferred_username` when there is no `eppn`, against users.eppn — never
against the local username, which a provider might let people choose (`engine.org.logins.federated_user`).
Nobody is created at login: a person Elevflow does not know, or has made inactive, is refused. The
provider's `auth_time`, when given, is when the person last proved who they are.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app

from elevflow.engine.errors import ElevflowError

KEY = "elevflow_oidc"


def init_app(app: Flask) -> None:
    """Register the provider's client (a test may pass its own stand-in as config OIDC_CLIENT)."""
    client = None
    if app.config.get("OIDC_ISSUER"):
        client = app.config.get("OIDC_CLIENT") or _authlib_client(app)
    app.extensions[KEY] = client


def _authlib_client(app: Flask) -> Any:
    if not app.config.get("OIDC_CLIENT_ID"):
        raise ElevflowError("ELEVFLOW_OIDC_ISSUER is set but ELEVFLOW_OIDC_CLIENT_ID is not")
    try:
        from authlib.integrations.flask_client import OAuth
    except ImportError as exc:  # Authlib's Flask client needs the requests package
        raise ElevflowError(f"login through OpenID Connect needs Authlib's Flask client: {exc} "
                            "(install it with: pip install requests)") from exc
    oauth = OAuth(app)
    return oauth.register(
        "elevflow", client_id=app.config["OIDC_CLIENT_ID"], client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"]})


def client() -> Any:
    """The provider's client, or None when logins are local only."""
    return current_app.extensions.get(KEY)


def identity(claims: dict[str, Any]) -> str | None:
    """The person's federated identity from the provider's claims."""
    value = claims.get("eppn") or claims.get("preferred_username")
    return str(value).strip() if value else None


def authenticated_at(claims: dict[str, Any]) -> float:
    """When the person last authenticated at the provider (now, if it does not say)."""
    value = claims.get("auth_time")
    return float(value) if isinstance(value, (int, float)) and value > 0 else time.time()
