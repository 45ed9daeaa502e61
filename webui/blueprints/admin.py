"""Administration of the integration API: the API tokens of system accounts (create, revoke) and the
outgoing webhooks (subscribe, pause, see every delivery and retry). For the school organiser (huvudman):
who holds that role at any unit administers the municipality's integrations (docs/api.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from elevflow.engine import parse_id
from elevflow.engine.errors import ConflictError, NotFoundError, PermissionDeniedError
from elevflow.engine.org import apitokens
from elevflow.engine.views import names
from elevflow.engine.work import webhooks

from .. import extensions, lookups
from ..sessions import login_required

bp = Blueprint("admin", __name__)


def _require_admin() -> None:
    if not g.user.administers:  # read with the user, this request (apitokens.ADMIN_ROLE)
        abort(404)


def _units(text: str) -> list[int] | None:
    """Unit ids typed as "1, 2" (None: empty, every unit); ValueError for anything else."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        return None
    ids = [parse_id(p) for p in parts]
    if any(i is None for i in ids):
        raise ValueError(text)
    return [i for i in ids if i is not None]


def _page(status: int = 200, **shown: Any) -> Any:
    database = extensions.engine()
    tokens = apitokens.tokens(database)
    unit_ids = {u for t in tokens for u in (t.unit_ids or ())}
    return render_template(
        "admin/api.html",
        tokens=tokens,
        scopes=apitokens.SCOPES,
        accounts=apitokens.system_accounts(database),
        subscriptions=webhooks.subscriptions(database),
        events=webhooks.EVENTS,
        when=lookups.local_time,
        unit_names=names.unit_names(database, unit_ids),
        **shown,
    ), status


@bp.get("/admin/api")
@login_required
def index() -> Any:
    _require_admin()
    return _page()


@bp.post("/admin/api/nycklar")
@login_required
def create_token() -> Any:
    """Create a token for a system account; its secret is shown this once."""
    _require_admin()
    try:
        units = _units(request.form.get("enheter", ""))
        _info, secret = apitokens.create_token(
            extensions.engine(),
            request.form.get("konto", ""),
            request.form.get("namn", ""),
            request.form.getlist("behorighet"),
            unit_ids=units,
            by=g.user.id,
        )
    except (ValueError, NotFoundError, PermissionDeniedError):
        flash(
            _(
                "Nyckeln skapades inte. Välj ett systemkonto, ge nyckeln ett namn och minst en behörighet, "
                "och ange bara skolenheter där kontot har en roll."
            ),
            "error",
        )
        return _page(422)
    return _page(new_secret=secret)


@bp.post("/admin/api/nycklar/<int:token_id>/aterkalla")
@login_required
def revoke_token(token_id: int) -> Any:
    _require_admin()
    try:
        apitokens.revoke_token(extensions.engine(), token_id, by=g.user.id)
    except NotFoundError:
        abort(404)
    except ConflictError:
        flash(_("Nyckeln var redan återkallad."), "info")
        return redirect(url_for("admin.index"))
    flash(_("Nyckeln är återkallad och fungerar inte längre."), "success")
    return redirect(url_for("admin.index"))


@bp.post("/admin/api/webhooks")
@login_required
def subscribe() -> Any:
    """A new webhook subscription; its signing secret is shown this once."""
    _require_admin()
    try:
        _subscription, secret = webhooks.subscribe(
            extensions.engine(),
            request.form.get("namn", ""),
            request.form.get("adress", ""),
            events=request.form.getlist("handelse"),
            unit_ids=_units(request.form.get("enheter", "")),
            by=g.user.id,
        )
    except ValueError:
        flash(
            _(
                "Webhooken skapades inte. Ge den ett namn och en adress som börjar med https:// eller "
                "http://."
            ),
            "error",
        )
        return _page(422)
    return _page(new_webhook_secret=secret)


@bp.get("/admin/api/webhooks/<int:subscription_id>")
@login_required
def deliveries(subscription_id: int) -> Any:
    """A subscription's deliveries, newest first: delivered, waiting, failing and why."""
    _require_admin()
    database = extensions.engine()
    subscription = next((s for s in webhooks.subscriptions(database) if s.id == subscription_id), None)
    if subscription is None:
        abort(404)
    return render_template(
        "admin/deliveries.html",
        subscription=subscription,
        deliveries=webhooks.deliveries(database, subscription_id),
        when=lookups.local_time,
    )


@bp.post("/admin/api/webhooks/<int:subscription_id>/aktiv")
@login_required
def set_active(subscription_id: int) -> Any:
    _require_admin()
    active = request.form.get("aktiv") == "1"
    try:
        webhooks.set_active(extensions.engine(), subscription_id, active)
    except NotFoundError:
        abort(404)
    flash(
        _("Webhooken är aktiv.")
        if active
        else _("Webhooken är pausad; händelserna väntar tills den blir aktiv igen."),
        "success",
    )
    return redirect(url_for("admin.deliveries", subscription_id=subscription_id))


@bp.post("/admin/api/webhooks/<int:subscription_id>/forsok-igen")
@login_required
def retry(subscription_id: int) -> Any:
    _require_admin()
    if not any(s.id == subscription_id for s in webhooks.subscriptions(extensions.engine())):
        abort(404)
    webhooks.retry_now(extensions.engine(), subscription_id)
    flash(_("De väntande händelserna skickas vid nästa körning."), "success")
    return redirect(url_for("admin.deliveries", subscription_id=subscription_id))
