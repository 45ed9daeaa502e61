"""Aviseringar: the user's unread notifications, and marking them read."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from elevflow.engine import parse_id
from elevflow.engine.work import notify

from .. import extensions
from ..sessions import login_required

bp = Blueprint("notifications", __name__)


@bp.get("/aviseringar")
@login_required
def index() -> Any:
    rows = notify.unread(extensions.engine(), g.user.id, limit=100)
    return render_template("notifications/index.html", notifications=rows,
                           lines={n.id: n.line(_) for n in rows},
                           when={n.id: notify.local_date(n.created_at) for n in rows})


@bp.post("/aviseringar/las")
@login_required
def mark_read() -> Any:
    """Mark one, some or all of one's own notifications read."""
    database = extensions.engine()
    if request.form.get("alla"):
        changed = notify.mark_all_read(database, g.user.id)
    else:
        ids = [found for i in request.form.getlist("id") if (found := parse_id(i)) is not None]
        changed = notify.mark_read(database, g.user.id, ids)
    if changed:
        flash(_("Markerat som läst."), "success")
    return redirect(url_for("notifications.index"))
