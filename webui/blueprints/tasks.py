"""The task page: a step's instructions and its form; saving a draft, completing it, signing a decision;
claiming and releasing tasks; one's own follow-up date."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from elevflow.engine.documents import appeals, signing, stepcontext
from elevflow.engine.errors import (
    ConflictError,
    DataNotJSONError,
    FormValidationError,
    NotFoundError,
    NotStaffError,
    PermissionDeniedError,
    RoutineRefusal,
    WorkflowError,
)
from elevflow.engine.oversight import visibility
from elevflow.engine.routines import definitions, formcheck
from elevflow.engine.runtime import failures, tasks
from elevflow.engine.storage.jsondata import ensure_json
from elevflow.engine.views import drafts, taskview
from elevflow.engine.views.taskview import TaskView
from elevflow.engine.work import assignment
from elevflow.engine.work.notify import local_date

from .. import casepage, extensions, forms, lookups
from ..i18n import select_locale
from ..sessions import authenticated_at, login_required, reauthenticate, recently_authenticated, safe_next
from ..timeline import lines as timeline_lines

bp = Blueprint("tasks", __name__)
EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}
REAUTH_MINUTES = int(signing.REAUTH_MAX_AGE.total_seconds() // 60)


def _open(task_id: UUID, *, shown: bool = True) -> TaskView:
    """The task, if this user may work on it (or did); otherwise the same refusal whether or not it
    exists. Every page that shows it — the form shown again after an error, after adding or removing a
    row, or after a refused signature too — is a look at the case, logged as "view_task" (refused or
    not). Only a request that shows nothing of it (`shown=False`: it redirects) is not logged."""
    view = taskview.open_task(extensions.engine(), g.user.id, task_id, log=shown)
    if not (view.may_complete or (view.state != "ready" and (
            view.serves or g.user.id in (view.completed_by, view.assignee_id)))):
        raise PermissionDeniedError(f"user {g.user.id} may not work on task {task_id}")
    return view


@bp.get("/uppgifter/<uuid:task_id>")
@login_required
def task(task_id: UUID) -> Any:
    """The task's page: its form filled from the user's draft, or the form's defaults."""
    view = _open(task_id)
    schema = view.schema or EMPTY_FORM
    filled = view.draft
    if filled is None and view.state == "ready":
        # proposed: what the routine declares (earlier steps' fields, the guardians, today), then the
        # appeal's timeliness and a delivery's recipients; every value stays the user's to change
        fields = schema.get("properties", {})
        proposed = dict(_context(view).prefill)
        proposed.update(_appeal_context(view)[1])
        if appeals.RECIPIENTS in fields:  # a delivery: its appeal instructions given, its recipients
            delivery = appeals.proposed_recipients(extensions.engine(), view.pupil_id, view.created_at)
            proposed = {**delivery, **proposed}
        filled = {k: v for k, v in proposed.items() if k in fields} or None
        return _page(view, forms.to_raw(schema, filled, defaults=True), view.case_row_version, {})
    return _page(view, forms.to_raw(schema, filled), view.case_row_version, {})


def _context(view: TaskView) -> stepcontext.StepContext:
    """The documentation the step builds on and its form's declared first values, as the engine gives
    them to this user (need-to-know, the medical zone, the look logged); once a request."""
    cached = g.get("_step_context")
    if cached is None:
        cached = g._step_context = stepcontext.for_task(extensions.engine(), g.user.id, view)
    return cached


def _appeal_context(view: TaskView) -> tuple[list[appeals.Window], dict[str, str]]:
    """For a step of the appeal routine: the case's appeal windows (each recipient's last day) and the
    timeliness assessment they point to. A look at the case, logged like the case page; once a request."""
    form = (view.meta.form if view.meta else None) or ""
    if not form.startswith("overklagande_"):
        return [], {}
    cached = g.get("_appeal_context")
    if cached is None:
        case = visibility.open_case(extensions.engine(), g.user.id, view.case_id, detail="överklagandetid")
        cached = g._appeal_context = (appeals.windows(case.tasks), appeals.proposed_timeliness(case.tasks))
    return cached


@bp.post("/uppgifter/<uuid:task_id>")
@login_required
def submit(task_id: UUID) -> Any:
    """Complete the task (or sign the decision) with the submitted form; or save it as a draft, or add
    or remove a row of the form, which shows the form again."""
    database = extensions.engine()
    raw = MultiDict((k, v) for k, v in request.form.items(multi=True) if k.startswith(("f.", "_rows.")))
    action = request.form.get("_action", "")
    seen = _row_version()
    if action.startswith(("add:", "remove:")):  # nothing is sent yet
        return _page(_open(task_id), forms.apply_action(raw, action), seen, {})
    try:
        form = taskview.form_of(database, task_id)
    except NotFoundError:
        abort(404)
    data = forms.parse(form.schema or EMPTY_FORM, raw)
    try:
        ensure_json(data, "form")
    except DataNotJSONError as exc:  # e.g. a NUL character typed or pasted into a field
        return _page(_open(task_id), raw, seen, {_field(exc.path): [_unstorable()]}, status=422)
    if action == "utkast":
        return _save_draft(task_id, data)
    if action == "forhandsgranska" and form.decision:
        return _preview(task_id, data)
    if form.decision:  # a decision is only ever completed by signing it
        return _sign(task_id, raw, data, seen)
    try:
        done = tasks.complete_task(database, task_id, data, by=g.user.id, expected_row_version=seen)
    except (FormValidationError, ConflictError) as exc:
        return _refused(task_id, raw, data, seen, exc)
    except failures.ROUTINE_ERRORS as exc:
        return _stopped(task_id, raw, seen, exc)
    flash(_("Uppgiften ”%(name)s” är klar.", name=done.name), "success")
    return redirect(url_for("inbox.index"))


def _save_draft(task_id: UUID, data: dict[str, Any]) -> Any:
    try:
        drafts.save_draft(extensions.engine(), task_id, g.user.id, data)
    except ConflictError:
        return _taken()
    flash(_("Utkastet är sparat. Bara du ser det, och uppgiften är inte klar förrän du slutför den."),
          "success")
    return redirect(url_for("tasks.task", task_id=task_id))


def _preview(task_id: UUID, data: dict[str, Any]) -> Any:
    """The decision document as it would be signed with what the form holds now, marked as a draft (in a
    new tab); nothing is stored."""
    try:
        filename, document = signing.preview_decision(extensions.engine(), task_id, data, by=g.user.id)
    except (ConflictError, WorkflowError):
        return _taken()
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _sign(task_id: UUID, raw: MultiDict, data: dict[str, Any], seen: int | None) -> Any:
    """Sign a decision: the signer gives their password again (someone without a local password, who
    logs in through the identity provider, must have logged in again there within the last minutes),
    then the engine completes the task and records the document in one step."""
    password = request.form.get("_password", "")
    if g.user.has_password:
        if not password:
            return _page(_open(task_id), raw, seen, {}, status=422,
                         sign_error=_("Bekräfta att det är du genom att skriva ditt lösenord."))
        if not reauthenticate(password):
            return _page(_open(task_id), raw, seen, {},
                         sign_error=_("Lösenordet stämmer inte. Beslutet är inte signerat."), status=422)
    elif not recently_authenticated(REAUTH_MINUTES):
        return _page(_open(task_id), raw, seen, {},
                     sign_error=_("Bekräfta att det är du genom att skriva ditt lösenord."), status=422)
    try:
        signed = signing.sign_decision(extensions.engine(), task_id, data, by=g.user.id,
                                       reauthenticated_at=authenticated_at(), expected_row_version=seen)
    except (FormValidationError, ConflictError) as exc:
        return _refused(task_id, raw, data, seen, exc)
    except failures.ROUTINE_ERRORS as exc:
        return _stopped(task_id, raw, seen, exc)
    except PermissionDeniedError as exc:
        current_app.logger.info("signing refused: %s", exc)
        return _page(_open(task_id), raw, seen, {}, status=403, sign_error=_(
            "Du får inte signera det här beslutet. Beslutet fattas av rektor, eller av någon med ett "
            "skriftligt delegationsbeslut för just den sortens beslut; vissa beslut får inte delegeras."))
    flash(_("Beslutet är signerat och sparat i ärendet."), "success")
    return redirect(url_for("cases.case", case_id=signed.completed.case_id, _anchor="beslut"))


def _refused(task_id: UUID, raw: MultiDict, data: dict[str, Any], seen: int | None, exc: Exception) -> Any:
    """Show the form again after the engine refused it: field errors, or someone else was first."""
    database = extensions.engine()
    if isinstance(exc, NotStaffError):
        return _page(_open(task_id), raw, seen, {field: [_(
            "Personen kan inte få uppgiften: hen har inte den roll på elevens skolenhet som uppgiften kräver "
            "(eller arbetar inte där). Välj någon annan.")]
            for field in exc.errors}, status=422)
    if isinstance(exc, FormValidationError):
        view = _open(task_id)
        return _page(view, raw, seen, _messages(view, data, exc.errors, exc.details), status=422)
    try:
        view = _open(task_id)
    except PermissionDeniedError:
        return _taken()
    if view.state != "ready" or tasks.get_task(database, task_id).state != "ready":
        return _taken()
    # The task is still open to this user and nobody else changed it (taken by someone else, it would
    # have been refused above): what changed was elsewhere in the case. Say what, and show the form
    # with what they typed against the case as it is now, so sending it again can succeed.
    changes = _changes_since(view, request.form.get("_opened_at", ""))
    said = [_("Någon annan har ändrat ärendet sedan du öppnade sidan, så det du skrev har inte sparats än.")]
    if changes:
        said.append(_("Det här har hänt: %(changes)s.", changes="; ".join(changes)))
    said.append(_("Uppgiften är fortfarande öppen för dig och det du skrev finns kvar. Kontrollera det mot "
                  "ändringen och skicka igen."))
    flash(" ".join(said), "error")
    return _page(view, raw, view.case_row_version, {}, status=409, opened_at=_now())


#: What a case's timeline says about another step, of the kinds that move a case on.
CHANGES = frozenset({"task_completed", "task_cancelled", "timer_fired", "message_received", "case_migrated",
                     "decision_signed", "task_assigned", "task_released"})
MAX_CHANGES = 5


def _changes_since(view: TaskView, opened_at: str) -> list[str]:
    """What happened in the case since the page was opened, as its timeline says it (newest last)."""
    try:
        since = datetime.fromisoformat(opened_at)
    except ValueError:
        return []
    if since.tzinfo is None:
        return []
    database = extensions.engine()
    timeline = [entry for entry in visibility.case_timeline(database, g.user.id, view.case_id)
                if entry.at > since and entry.kind in CHANGES]
    said = [f"{line.text} ({line.actor_name})"
            for line in timeline_lines(database, timeline, view.process_version_id)]
    return said[-MAX_CHANGES:]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _unstorable() -> str:
    return _("Det här går inte att spara: fältet innehåller ett osynligt styrtecken eller ett för stort tal. "
             "Ändra det och försök igen.")


def _field(path: str | None) -> str:
    """A form field's path from a data path (rows are `a[0].b` in data, `a.0.b` in the form)."""
    return (path or "").replace("[", ".").replace("]", "")


def _stopped(task_id: UUID, raw: MultiDict, seen: int | None, exc: Exception) -> Any:
    """The routine itself failed on this step (engine.runtime.failures): nothing was saved, the case records
    the
    error for the rektor and the process owner, and the user keeps what they wrote. A check of the
    routine's own that refused the step (a script's assert: RoutineRefusal) is said in its words; the
    routine did not fail."""
    if isinstance(exc, RoutineRefusal):
        flash(_("Rutinen godtog inte uppgifterna: %(why)s", why=str(exc).split(": ", 1)[-1]), "error")
        return _page(_open(task_id), raw, seen, {}, status=422)
    if failures.failed_case(exc) is None:
        raise exc
    current_app.logger.warning("case step failed in the routine: %s", exc)
    flash(_("Steget kunde inte slutföras: rutinen stannade på ett fel, så inget av det du skickade har "
            "sparats. Felet visas på ärendet, där rektor och processägaren ser det. Försök igen när rutinen "
            "är rättad."), "error")
    return _page(_open(task_id), raw, seen, {}, status=422)


def _taken() -> Any:
    flash(_("Uppgiften hann slutföras av någon annan innan du skickade. Det du skrev har inte sparats."),
          "error")
    return redirect(url_for("inbox.index"))


def _row_version() -> int | None:
    try:
        return int(request.form.get("_row_version", ""))
    except ValueError:
        return None


def _messages(view: TaskView, data: dict[str, Any], engine_errors: dict[str, list[str]],
              details: list[Any] = ()) -> dict[str, list[str]]:
    """The validation messages in the user's language; the engine's own for anything not explained."""
    database = extensions.engine()
    version = view.process_version_id
    validator = definitions.form_validator(database, version, view.form) if view.form else None
    errors = forms.translate(validator, data) if validator is not None else {}
    for problem in details:
        if isinstance(problem, formcheck.DateProblem):
            title = next((str(f["properties"][problem.reference].get("title") or problem.reference)
                          for f in definitions.forms(database, version).values()
                          if problem.reference in (f.get("properties") or {})),
                         problem.reference)
            errors.setdefault(problem.path, []).append(forms.date_message(
                problem.rule, problem.reference, problem.other.isoformat(), title.lower()))
    for path, said in engine_errors.items():  # e.g. required because of the case's data (caseConditions)
        errors.setdefault(path, [_("Fältet är obligatoriskt.") if said == ["required"]
                                 else _("Värdet är inte giltigt.")])
    return errors


def _page(view: TaskView, raw: MultiDict, row_version: int | None, errors: dict[str, list[str]], *,
          status: int = 200, sign_error: str = "", opened_at: str | None = None) -> Any:
    """The task page. `opened_at`, sent back with the form, is when the user first saw the case as
    `row_version` has it (kept across a form shown again, new when the version is)."""
    schema = view.schema or EMPTY_FORM
    closed = view.state != "ready"
    language = select_locale()
    people = {name: [(c.id, f"{c.name} ({', '.join(lookups.role_name(r, language) for r in c.roles)})")
                     for c in found] for name, found in view.candidates.items()}
    fields = forms.build(schema, raw, errors, people=people)
    basis = _basis(view) if not closed else []
    return render_template(
        "tasks/task.html", task=view, fields=fields, summary=forms.summary(fields, errors),
        row_version=row_version, closed=closed, form_title=schema.get("title"),
        opened_at=opened_at or request.form.get("_opened_at") or _now(),
        form_description=schema.get("description"), instructions=view.meta.instructions if view.meta else "",
        due=local_date(view.due_at) if view.due_at else "", sign_error=sign_error,
        needs_password=view.is_decision and g.user.has_password,
        reauth_fresh=recently_authenticated(REAUTH_MINUTES),
        follow_up=view.follow_up.isoformat() if view.follow_up else "",
        draft_saved=lookups.local_time(view.draft_saved_at) if view.draft_saved_at else "",
        lane=lookups.role_name(view.role, language), basis=basis,
        appeal_windows=_appeal_context(view)[0] if not closed else [], when=lookups.local_time), status


def _basis(view: TaskView) -> list[tuple[str, str, str, bool, list[tuple[str, str]]]]:
    """What the step builds on: the earlier steps the routine declares for it (a decision without a
    declaration: every completed step), each as (name, who, when, withheld, its data as label and text),
    as the user may see them — the engine withholds the medical part's records unless released."""
    database = extensions.engine()
    found = _context(view)
    by_task = definitions.task_forms(database, view.process_version_id)
    named = casepage.people(database, view.process_version_id, [e.data for e in found.entries])
    return [(e.name, e.completed_by_name or "–", lookups.local_time(e.completed_at) if e.completed_at else "",
             e.withheld, casepage.readable(by_task, e.bpmn_id, e.data, named)) for e in found.entries]


def _back() -> Any:
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.post("/uppgifter/<uuid:task_id>/ta")
@login_required
def claim(task_id: UUID) -> Any:
    """Take an open task of one's lane: it leaves the others' inboxes."""
    view = taskview.rights(extensions.engine(), g.user.id, task_id)
    if not (view.may_claim or (view.held and view.assignee_id is not None)):
        abort(403)
    try:
        assignment.claim(extensions.engine(), task_id, by=g.user.id)
    except ConflictError:
        flash(_("Någon annan har redan tagit uppgiften, eller så är den redan klar."), "error")
        return _back()
    flash(_("Du har tagit uppgiften ”%(name)s”.", name=view.name), "success")
    return _back()


@bp.post("/uppgifter/<uuid:task_id>/slapp")
@login_required
def release(task_id: UUID) -> Any:
    """Give a task back to everyone in its lane (its holder, or the unit's rektor)."""
    view = taskview.rights(extensions.engine(), g.user.id, task_id)
    if not (view.may_release or "rektor" in view.held or (view.assignee_id is None and view.may_claim)):
        abort(403)
    try:
        assignment.release(extensions.engine(), task_id, by=g.user.id)
    except ConflictError:
        flash(_("Uppgiften hade redan ändrats av någon annan."), "error")
        return _back()
    except PermissionDeniedError:  # a personal duty (an orosanmälan): never back to the lane
        flash(_("Uppgiften är en personlig skyldighet för den som har den och kan inte lämnas tillbaka."),
              "error")
        return _back()
    flash(_("Du har lämnat tillbaka uppgiften ”%(name)s”.", name=view.name), "success")
    return _back()


@bp.post("/uppgifter/<uuid:task_id>/uppfoljning")
@login_required
def follow_up(task_id: UUID) -> Any:
    """Set or clear one's own follow-up date on an open task (only one's own inbox shows it)."""
    _open(task_id, shown=False)  # it shows nothing: it goes back to the task's page, which logs
    text = request.form.get("datum", "").strip()
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        flash(_("Skriv datumet som ÅÅÅÅ-MM-DD."), "error")
        return redirect(url_for("tasks.task", task_id=task_id))
    try:
        drafts.set_follow_up(extensions.engine(), task_id, g.user.id, day)
    except ConflictError:
        return _taken()
    if day is None:
        flash(_("Uppföljningsdatumet är borttaget."), "success")
    else:
        flash(_("Du påminns om uppgiften %(day)s.", day=day.isoformat()), "success")
    return redirect(url_for("tasks.task", task_id=task_id))
