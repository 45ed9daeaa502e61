"""Ärenden: the cases the user may see, and one case's page — header, open tasks, timeline, decisions and
the routine's diagram with where the case stands. Every look goes through elevflow.engine.oversight.visibility
(need-to-know,
logged); a case one may not see and one that does not exist read the same (404)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from elevflow.engine import parse_id
from elevflow.engine.documents import appeals, attachments, case_documents, signing
from elevflow.engine.documents import pdf as documents
from elevflow.engine.errors import ConflictError, NotFoundError, PermissionDeniedError
from elevflow.engine.oversight import visibility
from elevflow.engine.oversight.visibility import NotVisibleError
from elevflow.engine.routines import definitions
from elevflow.engine.views import casediagram, names, people, taskview
from elevflow.engine.work.notify import local_date

from .. import casepage, extensions, lookups
from ..i18n import select_locale
from ..sessions import login_required
from ..timeline import lines as timeline_lines

bp = Blueprint("cases", __name__)
PAGE = 100
STATUSES = ("running", "completed", "cancelled", "failed")


@bp.get("/arenden")
@login_required
def index() -> Any:
    """Mina ärenden: the cases the user may see, newest first (a list: not logged, names no protected
    pupil)."""
    status = request.args.get("status", "")
    before = request.args.get("fore", "")
    term = request.args.get("q", "").strip()[:100]
    rows = visibility.visible_cases(extensions.engine(), g.user.id,
                                    status=status if status in STATUSES else None,
                                    before_id=parse_id(before), term=term, limit=PAGE)
    return render_template("cases/index.html", cases=rows, status=status if status in STATUSES else "",
                           term=term,
                           more=rows[-1].id if len(rows) >= PAGE else None, statuses=status_names(),
                           day=local_date)


@bp.get("/arenden/<int:case_id>")
@login_required
def case(case_id: int) -> Any:
    database = extensions.engine()
    try:
        view = visibility.open_case(database, g.user.id, case_id)
        timeline = visibility.case_timeline(database, g.user.id, case_id)
    except NotVisibleError:
        abort(404)
    language = select_locale()
    held = people.roles_at(database, g.user.id, view.unit_id)
    by_task = definitions.task_forms(database, view.process_version_id)
    named = casepage.people(database, view.process_version_id, [t.data for t in view.tasks])
    return render_template(
        "cases/case.html", case=view, timeline=timeline_lines(database, timeline, view.process_version_id),
        statuses=status_names(), day=local_date,
        when=lookups.local_time,
        open_tasks=[t for t in view.tasks if t.state == "ready"],
        waiting_on=sorted({t.assignee_name or lookups.role_name(t.role, language)
                           for t in view.tasks if t.state == "ready"}),
        done_tasks=[t for t in view.tasks if t.state == "completed"],
        lanes={t.id: lookups.role_name(t.role, language) for t in view.tasks},
        completed=" ".join(casediagram.passed_elements(database, g.user.id, case_id)),
        current=" ".join(casediagram.waiting_elements(view)),
        hidden=view.pupil_name == visibility.PROTECTED_NAME,
        started_by=names.user_names(database, [view.started_by] if view.started_by else []).get(
            view.started_by or 0),
        is_rektor="rektor" in held, medical=bool(held & visibility.MEDICAL_ROLES),
        decision_titles={kind: title for kind, (title, _ground) in documents.TITLES.items()},
        readable={t.id: casepage.readable(by_task, t.bpmn_id, t.data, named) for t in view.tasks if t.data},
        appeal_windows=appeals.windows(view.tasks), case_documents=case_documents.available(database, view),
        case_attachments=attachments.attachments(database, g.user.id, case_id),
        attachment_limits=_attachment_limits(database))


@bp.post("/arenden/<int:case_id>/uppgifter/<uuid:task_id>/lamna-ut")
@login_required
def release_medical(case_id: int, task_id: UUID) -> Any:
    """The school nurse or doctor releases what a medical task recorded into the case, with the ground
    (the pupil's or guardians' consent, or the legal exception) — audited."""
    database = extensions.engine()
    reason = request.form.get("grund", "").strip()
    target = url_for("cases.case", case_id=case_id, _anchor="genomforda")
    try:
        rights = taskview.rights(database, g.user.id, task_id)
        if rights.case_id != case_id:
            abort(404)  # the task belongs to another case: not under this one's address
        if rights.role not in visibility.MEDICAL_ROLES:
            abort(404)  # nothing the medical part recorded: nothing to release
        if not rights.held & visibility.MEDICAL_ROLES:
            abort(403)
        if not reason:
            flash(_("Skriv vad utlämnandet grundar sig på (samtycke eller lagrum)."), "error")
            return redirect(target)
        released = visibility.release_medical(database, task_id, g.user.id, reason[:1000])
    except (NotFoundError, ValueError):
        abort(404)
    except PermissionDeniedError:
        abort(403)
    except ConflictError:
        flash(_("Uppgiften är inte klar, så det finns inget att lämna ut."), "error")
        return redirect(target)
    flash(_("Uppgifterna är utlämnade till ärendet.") if released else _("Uppgifterna var redan utlämnade."),
          "success")
    return redirect(target)


@bp.get("/arenden/<int:case_id>/diagram.bpmn")
@login_required
def diagram(case_id: int) -> Any:
    """The routine's BPMN, for the page's viewer. The case page has logged the look; this only checks."""
    try:
        xml = casediagram.diagram_xml(extensions.engine(), g.user.id, case_id)
    except NotVisibleError:
        abort(404)
    if xml is None:
        abort(404)
    return Response(xml, mimetype="application/xml")


@bp.get("/arenden/<int:case_id>/beslut/<int:decision_id>.pdf")
@login_required
def decision(case_id: int, decision_id: int) -> Any:
    """A signed decision's PDF (logged as "download_document"; not for a protected pupil's name unless
    the user may see it)."""
    try:  # a decision of another case is not served under this one's address either
        filename, document = signing.decision_document(extensions.engine(), g.user.id, decision_id, case_id)
    except NotVisibleError:
        abort(404)
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/arenden/<int:case_id>/dokument/<kind>.pdf")
@login_required
def case_document(case_id: int, kind: str) -> Any:
    """The case's utredning or åtgärdsprogram as PDF (engine/documents/case_documents.py: need-to-know,
    logged as "download_document"); 404 for a case one may not see and for a document it has not got."""
    database = extensions.engine()
    try:
        filename, document = case_documents.case_document(database, g.user.id, case_id, kind)
    except NotFoundError:  # NotVisibleError too
        abort(404)
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _attachment_limits(database: Any) -> dict[str, Any]:
    kinds = database.config.attachment_types
    return {"mb": database.config.attachment_max_mb, "types": ", ".join(kinds),
            "accept": ",".join(f".{kind}" for kind in kinds)}


def status_names() -> dict[str, str]:
    return {"running": _("Pågår"), "completed": _("Avslutat"), "cancelled": _("Avbrutet"),
            "failed": _("Misslyckat")}
