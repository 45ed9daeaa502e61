"""Mina uppgifter: the user's open tasks, with filters, sorting, ready-made views and saved filters."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from elevflow.engine.errors import NotFoundError, PermissionDeniedError
from elevflow.engine.views import drafts
from elevflow.engine.work import worklist
from elevflow.engine.work.notify import local_date
from elevflow.engine.work.worklist import Filter

from .. import extensions, lookups
from ..i18n import select_locale
from ..sessions import login_required

bp = Blueprint("inbox", __name__)
PAGE = 50  # tasks per page view


@bp.get("/")
@login_required
def home() -> Any:
    return redirect(url_for("inbox.index"))


@bp.get("/uppgifter")
@login_required
def index() -> Any:
    database = extensions.engine()
    chosen = Filter.read(request.args)
    page = request.args.get("sida", "1")
    page = max(1, min(int(page), 1000)) if page.isascii() and page.isdigit() else 1
    found = worklist.worklist(database, g.user.id, chosen, limit=PAGE, offset=(page - 1) * PAGE)
    language = select_locale()
    return render_template(
        "inbox/index.html", items=found.items, truncated=found.truncated, chosen=chosen, page=page,
        routines=found.routines, units=found.units, views=_ready_views(), saved=found.filters,
        current=chosen.query(), due=local_date,
        share_roles=[(key, lookups.role_name(key, language)) for key in sorted(found.roles)],
        role_name=lambda key: lookups.role_name(key, language))


def _ready_views() -> list[tuple[str, dict[str, str]]]:
    """The ready-made views: (label, query)."""
    return [(_("Alla mina uppgifter"), {}),
            (_("Försenade"), {"forfallo": "forsenade"}),
            (_("Förfaller inom 3 dagar"), {"forfallo": "snart"}),
            (_("Att följa upp i dag"), {"uppfoljning": "1"}),
            (_("Ej tagna vid mina enheter"), {"ej_tagna": "1"})]


@bp.post("/uppgifter/filter")
@login_required
def save_filter() -> Any:
    """Save the filter in use under a name, for oneself or shared with the holders of one of one's roles
    at one's units."""
    chosen = Filter.read(request.form)
    name = request.form.get("namn", "").strip()
    role = request.form.get("dela_med", "") or None
    if not name:
        flash(_("Ge filtret ett namn."), "error")
        return redirect(url_for("inbox.index", **chosen.query()))
    if not name[:200].isprintable():
        flash(_("Filtrets namn får bara innehålla vanliga tecken, inga radbrytningar eller styrtecken."),
              "error")
        return redirect(url_for("inbox.index", **chosen.query()))
    try:
        drafts.save_filter(extensions.engine(), g.user.id, name[:200], chosen.query(), shared_with_role=role)
    except (PermissionDeniedError, ValueError):
        flash(_("Du kan bara dela ett filter med en roll som du själv har."), "error")
        return redirect(url_for("inbox.index", **chosen.query()))
    flash(_("Filtret ”%(name)s” är sparat.", name=name[:200]), "success")
    return redirect(url_for("inbox.index", **chosen.query()))


@bp.post("/uppgifter/filter/<int:filter_id>/ta-bort")
@login_required
def delete_filter(filter_id: int) -> Any:
    """Delete one of one's own saved filters."""
    try:
        drafts.delete_filter(extensions.engine(), filter_id, g.user.id)
    except NotFoundError:
        abort(404)
    except PermissionDeniedError:
        abort(403)
    flash(_("Filtret är borttaget."), "success")
    return redirect(url_for("inbox.index"))
