"""The task page: a step's instructions and its form; completing it; claiming and releasing tasks."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine import assignment, tasks, visibility
from engine.errors import ConflictError, FormValidationError, PermissionDeniedError
from engine.models import TaskRow
from engine.notify import local_date

from .. import extensions, forms, lookups, permissions
from ..i18n import select_locale
from ..sessions import login_required, safe_next

bp = Blueprint("tasks", __name__)


def _task_for(user_id: int, task_id: UUID) -> TaskRow:
    """The task, if this user may work on it; otherwise the same refusal whether or not it exists."""
    database = extensions.db()
    row = tasks.get_task(database, task_id)
    if not permissions.may_complete(database, row, user_id):
        raise PermissionDeniedError(f"user {user_id} may not open task {task_id}")
    return row


@bp.route("/uppgifter/<uuid:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: UUID) -> Any:
    """Show the task's form (GET); complete it with the submitted form (POST). Showing it is a look at
    the case, logged as "view_task" (refused or not; NotVisibleError reads as 404)."""
    database = extensions.db()
    if request.method == "GET":
        visibility.task_data_for(database, g.user.id, task_id)
    row = _task_for(g.user.id, task_id)
    if row.state != "ready":
        if request.method == "POST":
            return _taken()
        return _page(row, {}, None, MultiDict(), {}, closed=True)
    info = tasks.task_info(database, row)
    schema = info["form"] or {"type": "object", "properties": {}}
    if request.method == "GET":
        case = tasks.case_of(database, task_id)
        return _page(row, info, case.row_version, forms.to_raw(schema), {})
    raw = MultiDict((k, v) for k, v in request.form.items(multi=True) if k.startswith(("f.", "_rows.")))
    seen = _row_version()
    action = request.form.get("_action", "")
    if action:  # add or remove a row: show the form again, nothing is sent yet
        return _page(row, info, seen, forms.apply_action(raw, action), {})
    data = forms.parse(schema, raw)
    try:
        done = tasks.complete_task(database, task_id, data, by=g.user.id, expected_row_version=seen)
    except FormValidationError as exc:
        errors = _messages(row, schema, data, exc.errors)
        return _page(row, info, seen, raw, errors, status=422)
    except ConflictError:
        if tasks.get_task(database, task_id).state != "ready":
            return _taken()
        flash(_("Någon annan har ändrat ärendet sedan du öppnade sidan, så det du skrev har inte sparats. "
                "Ladda om sidan för att se det senaste, och skicka igen."), "error")
        return _page(row, info, seen, raw, {}, status=409)
    flash(_("Uppgiften ”%(name)s” är klar.", name=done.name), "success")
    return redirect(url_for("inbox.index"))


def _taken() -> Any:
    flash(_("Uppgiften hann slutföras av någon annan innan du skickade. Det du skrev har inte sparats."),
          "error")
    return redirect(url_for("inbox.index"))


def _row_version() -> int | None:
    try:
        return int(request.form.get("_row_version", ""))
    except ValueError:
        return None


def _messages(row: TaskRow, schema: dict[str, Any], data: dict[str, Any],
              engine_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The validation messages in the user's language; the engine's own for anything not explained."""
    database = extensions.db()
    case = tasks.case_of(database, row.id)
    validator = database.specs.get(case.process_version_id).validator(row.form) if row.form else None
    errors = forms.translate(validator, data) if validator is not None else {}
    for path in engine_errors:
        errors.setdefault(path, [_("Värdet är inte giltigt.")])
    return errors


def _page(row: TaskRow, info: dict[str, Any], row_version: int | None, raw: MultiDict,
          errors: dict[str, list[str]], *, status: int = 200, closed: bool = False) -> Any:
    database = extensions.db()
    schema = (info.get("form") if info else None) or {"type": "object", "properties": {}}
    fields = forms.build(schema, raw, errors)
    pupil = lookups.pupils(database, [row.pupil_id]).get(row.pupil_id)
    people = lookups.user_names(database, [i for i in (row.assignee_id, row.completed_by) if i])
    return render_template(
        "tasks/task.html", task=row, info=info, fields=fields, summary=forms.summary(fields, errors),
        row_version=row_version, closed=closed, form_title=schema.get("title"),
        routine=lookups.routines(database).get(row.process_key, row.process_key),
        unit=lookups.unit_names(database, [row.unit_id]).get(row.unit_id, ""),
        pupil=lookups.pupil_label(pupil, in_list=False), people=people,
        due=local_date(row.due_at) if row.due_at else "",
        case_link=visibility.can_view_case(database, g.user.id, row.case_id),
        lane=lookups.role_name(row.role, select_locale())), status


def _back() -> Any:
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.post("/uppgifter/<uuid:task_id>/ta")
@login_required
def claim(task_id: UUID) -> Any:
    """Take an open task of one's lane: it leaves the others' inboxes."""
    database = extensions.db()
    row = tasks.get_task(database, task_id)
    if row.assignee_id != g.user.id and not permissions.may_serve(
            permissions.roles_at(database, g.user.id, row.unit_id), row):
        abort(403)
    try:
        assignment.claim(database, task_id, by=g.user.id)
    except ConflictError:
        flash(_("Någon annan har redan tagit uppgiften, eller så är den redan klar."), "error")
        return _back()
    flash(_("Du har tagit uppgiften ”%(name)s”.", name=row.name), "success")
    return _back()


@bp.post("/uppgifter/<uuid:task_id>/slapp")
@login_required
def release(task_id: UUID) -> Any:
    """Give a task back to everyone in its lane (its holder, or the unit's rektor)."""
    database = extensions.db()
    row = tasks.get_task(database, task_id)
    held = permissions.roles_at(database, g.user.id, row.unit_id)
    if not (row.assignee_id == g.user.id or "rektor" in held
            or (row.assignee_id is None and permissions.may_serve(held, row))):
        abort(403)
    try:
        assignment.release(database, task_id, by=g.user.id)
    except ConflictError:
        flash(_("Uppgiften hade redan ändrats av någon annan."), "error")
        return _back()
    flash(_("Du har lämnat tillbaka uppgiften ”%(name)s”.", name=row.name), "success")
    return _back()
