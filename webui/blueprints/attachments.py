"""A case's attachments: adding a file on the case page, downloading and removing one
(engine/documents/attachments.py holds the checks, the virus scan, need-to-know and the medical zone;
every look and change is logged there)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from elevflow.engine.documents import attachments
from elevflow.engine.errors import AttachmentRefused, NotFoundError, PermissionDeniedError

from .. import extensions
from ..codes import say_error
from ..sessions import login_required

bp = Blueprint("attachments", __name__)
SLACK = 64 * 1024  # room for the multipart form's own fields and boundaries


def _back(case_id: int) -> Any:
    return redirect(url_for("cases.case", case_id=case_id, _anchor="bilagor"))


@bp.post("/arenden/<int:case_id>/bilagor")
@login_required
def add(case_id: int) -> Any:
    """Attach the posted file ("fil") to the case."""
    database = extensions.engine()
    request.max_content_length = database.config.attachment_max_mb * 1024 * 1024 + SLACK
    upload = request.files.get("fil")
    try:  # no file chosen: the engine checks the right to the case first, then says the file is empty
        added = attachments.add_attachment(database, case_id, upload.filename or "" if upload else "",
                                           upload.read() if upload else b"", by=g.user.id)
    except AttachmentRefused as exc:
        flash(_("Filen bifogades inte: %(why)s", why=say_error(exc)), "error")
        return _back(case_id)
    except NotFoundError:  # NotVisibleError too
        abort(404)
    except PermissionDeniedError:
        abort(403)
    flash(_("%(name)s är bifogad.", name=added.filename), "success")
    return _back(case_id)


@bp.get("/arenden/<int:case_id>/bilagor/<int:attachment_id>")
@login_required
def download(case_id: int, attachment_id: int) -> Any:
    try:
        filename, content_type, content = attachments.attachment_content(
            extensions.engine(), g.user.id, case_id, attachment_id)
    except NotFoundError:
        abort(404)
    response = Response(content, mimetype=content_type)
    quoted = filename.replace('"', "")
    response.headers["Content-Disposition"] = f'attachment; filename="{quoted}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/arenden/<int:case_id>/bilagor/<int:attachment_id>/ta-bort")
@login_required
def remove(case_id: int, attachment_id: int) -> Any:
    try:
        attachments.remove_attachment(extensions.engine(), g.user.id, case_id, attachment_id)
    except NotFoundError:
        abort(404)
    except PermissionDeniedError:
        abort(403)
    flash(_("Bilagan är borttagen."), "success")
    return _back(case_id)
