"""Logging in and out (local password or the OpenID Connect provider), the language switch, keep-alive."""
from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from elevflow.engine.org import logins
from elevflow.engine.views import people

from .. import extensions, oidc
from ..i18n import LANGUAGES
from ..sessions import login_limits, login_required, login_user, logout_user, public, safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _after_login(target: str | None) -> Any:
    return redirect(safe_next(target) or url_for("inbox.index"))


@bp.route("/logga-in", methods=["GET", "POST"])
@public
def login() -> Any:
    """The login page: username and password, and the provider's button when one is configured."""
    if g.user is not None:
        return _after_login(request.args.get("next"))
    target = safe_next(request.values.get("next"))
    status = 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        outcome = logins.password_login(extensions.engine(), username, password, request.remote_addr or "",
                                        login_limits())
        if outcome.user is not None:
            login_user(outcome.user)
            return _after_login(target)
        status = 429 if outcome.limited else 200
        if outcome.limited:
            flash(_("För många misslyckade inloggningar. Av säkerhetsskäl är inloggningen spärrad en stund: "
                    "försök igen om %(minutes)s minuter.",
                    minutes=current_app.config["LOGIN_WINDOW_MINUTES"]), "error")
        else:
            flash(_("Fel användarnamn eller lösenord."), "error")
    return render_template("auth/login.html", next=target, username=username,
                           oidc_enabled=oidc.client() is not None), status


@bp.post("/logga-ut")
@login_required
def logout() -> Any:
    logout_user()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/logga-in/oidc")
@public
def oidc_start() -> Any:
    """Send the visitor to the provider to log in; it sends them back to `oidc_callback`. With `igen`
    (before signing a decision) the provider is asked to check who it is again, not to reuse its own
    session (OpenID Connect's prompt=login and max_age=0)."""
    client = oidc.client()
    if client is None:
        abort(404)
    session["oidc_next"] = safe_next(request.args.get("next"))
    callback = current_app.config["BASE_URL"] + url_for("auth.oidc_callback")
    if request.args.get("igen"):
        return client.authorize_redirect(callback, prompt="login", max_age=0)
    return client.authorize_redirect(callback)


@bp.get("/logga-in/oidc/svar")
@public
def oidc_callback() -> Any:
    """The provider's answer: log in the person it vouches for, if Elevflow knows them."""
    client = oidc.client()
    if client is None:
        abort(404)
    database = extensions.engine()
    try:
        token = client.authorize_access_token()
        userinfo = token.get("userinfo")  # the ID token's claims, verified by Authlib
        claims = dict(userinfo if userinfo is not None else client.userinfo(token=token))
    except Exception:  # the provider refused, the state did not match, the token did not verify, ...
        log.exception("OpenID Connect login failed")
        flash(_("Inloggningen via kommunens inloggningstjänst misslyckades. Försök igen."), "error")
        return redirect(url_for("auth.login"))
    who = oidc.identity(claims)
    user = logins.federated_user(database, who)
    logins.record(database, who or "?", request.remote_addr or "", user is not None)
    if user is None:
        flash(_("Du är inloggad hos kommunen men har inget konto i Elevflow. Kontakta den som "
                "administrerar Elevflow i din kommun."), "error")
        return redirect(url_for("auth.login"))
    target = session.get("oidc_next")
    login_user(user, authenticated_at=oidc.authenticated_at(claims))
    return _after_login(target)


@bp.post("/sprak")
@public
def language() -> Any:
    """Switch the language of the pages (and remember it for the user who is logged in)."""
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        if g.user is not None:
            people.set_language(extensions.engine(), g.user.id, chosen)
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.post("/sessionen/aktiv")
@login_required
def keepalive() -> Any:
    """A sign of life while someone writes in a long form, so the idle timeout does not end their
    session and lose what they wrote (static/elevflow.js sends it)."""
    return "", 204
