"""Utkast, for process owners: edit a routine in the bpmn-js Modeler, save it as a server-side draft,
check it with deploy's own rules (problems marked on the diagram), edit its forms with a live preview,
publish it as a new version with a change note; import and export .bpmn files.

The modeler page talks JSON to `save` and `check` (with the CSRF token in a header); everything else is
an ordinary form post, so publishing, discarding and the form editor work without script too.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from elevflow.engine.errors import ConflictError, DataNotJSONError, DefinitionError, NotFoundError
from elevflow.engine.routines import editing
from elevflow.engine.routines.editing import RoutineDraft
from elevflow.engine.storage import jsondata
from elevflow.engine.views import names

from .. import extensions, forms, jsonerrors, lookups
from ..codes import say, say_coded, say_error, say_problem
from ..i18n import select_locale
from ..owners import owner_required, problem_dicts, verdict_heading

bp = Blueprint("editor", __name__)
FORM_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,80}\.json$")


def _draft(draft_id: int) -> RoutineDraft:
    try:
        return editing.get(extensions.engine(), draft_id, by=g.user.id)
    except NotFoundError:
        abort(404)


@bp.post("/rutiner/version/<int:version_id>/redigera")
@owner_required
def open_draft(version_id: int) -> Any:
    try:
        draft = editing.open_draft(extensions.engine(), version_id, by=g.user.id)
    except NotFoundError:
        abort(404)
    return redirect(url_for("editor.draft", draft_id=draft.id))


@bp.post("/rutiner/importera")
@owner_required
def import_file() -> Any:
    upload = request.files.get("fil")
    if upload is None or not upload.filename:
        flash(_("Välj en .bpmn-fil att importera."), "error")
        return redirect(url_for("routines.index"))
    try:
        draft = editing.import_file(extensions.engine(), upload.filename,
                                    upload.read(editing.MAX_BPMN_BYTES + 1),
                                    by=g.user.id)
    except DefinitionError as exc:
        flash(_("Filen kunde inte importeras: %(why)s", why="; ".join(say_problem(p) for p in exc.problems)),
              "error")
        return redirect(url_for("routines.index"))
    return redirect(url_for("editor.draft", draft_id=draft.id))


@bp.get("/rutiner/utkast/<int:draft_id>")
@owner_required
def draft(draft_id: int) -> Any:
    """The modeler page."""
    found = _draft(draft_id)
    file_name = _file(found)
    database = extensions.engine()
    who = names.user_names(database, [found.updated_by])
    config = {"roles": [role.sv for role in editing.lane_roles()],
              "forms": sorted(found.forms), "labels": _labels(), "language": select_locale(),
              "cancelGrounds": [{"key": key, "label": _("Får avbrytas härifrån bara för att: %(ground)s",
                                                         ground=_ground_names().get(key, said))}
                                for key, said in editing.cancel_grounds().items()]}
    return render_template("editor/draft.html", draft=found, config=json.dumps(config, ensure_ascii=False),
                           file_name=file_name, files=[found.main_file, *sorted(set(found.files) - {
                               found.main_file})],
                           updated_by=who.get(found.updated_by, ""), when=lookups.local_time,
                           base=editing.get_version(database, found.base_version_id)
                           if found.base_version_id else None)


def _file(found: RoutineDraft) -> str:
    """The file the page edits: the routine's own (default) or a shared one it calls (`fil`)."""
    name = request.args.get("fil") or found.main_file
    if name not in found.files:
        abort(404)
    return name


def _labels() -> dict[str, str]:
    """The Elevflow group's labels in the user's language (the bundle itself holds no text)."""
    return {
        "group": _("Elevflow"), "role": _("Roll (vem gör stegen i banan)"), "none": _("(ingen)"),
        "formJsonSchemaFilename": _("Formulär"), "dueRule": _("Tidsfrist"),
        "dueRule_help": _("ISO-8601, t.ex. P1W eller PT24H, eller arbetsdagar som 5BD."),
        "dueFrom": _("Fristen räknas från datumet i fältet"),
        "assigneeFrom": _("Tilldelas personen i fältet"), "instructions": _("Instruktioner"),
        "decision": _("Beslut (slag)"), "nonDelegable": _("Endast rektor får besluta (3:9)"),
        "condition": _("Villkor"),
        "condition_help": _("Ett uttryck över ärendets data, t.ex. behov == \"ja\". Tomt på grindens "
                            "standardflöde."),
        "script": _("Skript"),
        "personal": _("Personlig skyldighet (bara den som fältet anger gör steget)"),
        "personal_help": _("Steget erbjuds aldrig hela banan och kan inte lämnas över, som en orosanmälan. "
                           "Ange personen i ”Tilldelas personen i fältet”, t.ex. startad_av."),
        "caseSubject": _("Ärendet gäller"),
        "caseSubject_help": _("En elev, eller skolenheten utan någon elev (årshjul, avvikelser)."),
        "subject_pupil": _("En elev"), "subject_unit": _("Skolenheten (ingen elev)"),
        "visibleTo": _("Vilka roller ser rutinens ärenden"),
        "visibleTo_help": _("Rollernas namn med kommatecken emellan, t.ex. Rektor, Kurator. Tomt: rektor och "
                            "elevhälsan (för skolenhetens ärenden bara rektor). Den som får en uppgift i "
                            "ärendet ser det alltid."),
    }


def _ground_names() -> dict[str, str]:
    """elevflow.engine.routines.specs.CANCEL_GROUNDS in the user's language."""
    return {"elev_flyttat": _("Eleven har flyttat från skolenheten"),
            "dubblett": _("Ärendet är en dubblett av ett annat ärende")}


@bp.get("/rutiner/utkast/<int:draft_id>/diagram.bpmn")
@owner_required
def draft_xml(draft_id: int) -> Any:
    found = _draft(draft_id)
    file_name = _file(found)
    response = Response(found.files[file_name], mimetype="application/xml")
    if request.args.get("ladda-ner"):
        response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


@bp.post("/rutiner/utkast/<int:draft_id>/spara")
@owner_required
def save(draft_id: int) -> Any:
    """{"bpmn": xml, "seen": row_version, "file": name (default: the routine's own)} ->
    {"row_version": n}; 400 with problems, 409 on a clash."""
    _draft(draft_id)
    try:
        body = request.get_json(silent=True) or request.form  # JSON from the page's script, or a post
    except RecursionError:  # nested past what the parser takes: no request of ours
        body = {}
    if not isinstance(body, dict):
        body = {}
    bpmn, seen, file_name = body.get("bpmn"), str(body.get("seen", "")), body.get("file") or None
    if (not isinstance(bpmn, str) or not seen.isdigit() or len(seen) > 18
            or not isinstance(file_name, (str, type(None)))):
        return jsonify({"error": _("Ogiltig begäran.")}), 400
    try:
        saved = editing.save(extensions.engine(), draft_id, by=g.user.id, seen=int(seen), bpmn=bpmn,
                             file_name=file_name)
    except DefinitionError as exc:
        return jsonify({"error": _("Utkastet sparades inte."), "problems": problem_dicts(exc.problems)}), 400
    except ConflictError:
        return jsonify({"error": _("Någon annan har sparat utkastet under tiden. Ladda om sidan.")}), 409
    return jsonify({"row_version": saved.row_version, "message": _("Utkastet är sparat.")})


@bp.post("/rutiner/utkast/<int:draft_id>/kontrollera")
@owner_required
def check(draft_id: int) -> Any:
    """The saved draft checked with deploy's rules: JSON {"runnable", "heading", "problems"}."""
    _draft(draft_id)
    found = editing.check(extensions.engine(), draft_id, by=g.user.id)
    return jsonify({"runnable": found.runnable, "heading": verdict_heading(found.runnable),
                    "problems": problem_dicts(found.problems)})


@bp.post("/rutiner/utkast/<int:draft_id>/publicera")
@owner_required
def publish(draft_id: int) -> Any:
    found = _draft(draft_id)
    note = request.form.get("note", "").strip()
    if not note:
        flash(_("Skriv vad som ändrats och varför innan du publicerar."), "error")
        return redirect(url_for("editor.draft", draft_id=draft_id))
    try:
        version = editing.publish(extensions.engine(), draft_id, by=g.user.id, note=note,
                                  seen=request.form.get("row_version", type=int))
    except DefinitionError as exc:
        flash(_("Utkastet publicerades inte. %(heading)s %(problems)s", heading=verdict_heading(False),
                problems="; ".join(say_problem(p) for p in exc.problems)), "error")
        return redirect(url_for("editor.draft", draft_id=draft_id))
    except ConflictError as exc:
        flash(_("Utkastet publicerades inte: %(why)s", why=say_error(exc)), "error")
        return redirect(url_for("editor.draft", draft_id=draft_id))
    flash(_("Version %(version)d av ”%(name)s” är publicerad. Nya ärenden följer den; pågående ärenden "
            "stannar på sin version.", version=version.version, name=version.name), "success")
    return redirect(url_for("routines.history", key=found.key))


@bp.post("/rutiner/utkast/<int:draft_id>/kasta")
@owner_required
def discard(draft_id: int) -> Any:
    """Delete the draft, once the page's confirmation (`bekrafta`) says so."""
    _draft(draft_id)
    if request.form.get("bekrafta") != "ja":
        flash(_("Utkastet finns kvar: bekräfta att du vill kasta det."), "error")
        return redirect(url_for("editor.draft", draft_id=draft_id))
    # a ConflictError (someone saved the draft since the page was shown) is the 409 page of errors.py
    editing.discard(extensions.engine(), draft_id, by=g.user.id, seen=request.form.get("row_version",
                                                                                       type=int))
    flash(_("Utkastet är borttaget."), "success")
    return redirect(url_for("routines.index"))


@bp.get("/rutiner/utkast/<int:draft_id>/formular")
@owner_required
def form(draft_id: int) -> Any:
    """Edit one of the draft's forms (or a new one) as JSON Schema, with a live preview."""
    found = _draft(draft_id)
    name = request.args.get("namn", "")
    if name and not FORM_NAME.match(name):
        abort(404)
    schema = found.forms.get(name) if name else None
    text = json.dumps(schema if schema is not None else {"type": "object", "properties": {},
                                                           "additionalProperties": False},
                      ensure_ascii=False, indent=2)
    return _form_page(found, name, text)


def _form_page(found: RoutineDraft, name: str, text: str, errors: list[str] | None = None,
               status: int = 200) -> Any:
    preview, schema_errors, excerpt = _preview(text)
    return render_template("editor/form.html", draft=found, name=name, text=text, errors=errors or [],
                           preview=preview, schema_errors=schema_errors, excerpt=excerpt), status


@bp.post("/rutiner/utkast/<int:draft_id>/formular")
@owner_required
def save_form(draft_id: int) -> Any:
    found = _draft(draft_id)
    name = request.form.get("namn", "").strip()
    text = request.form.get("schema", "")
    if not FORM_NAME.match(name):
        return _form_page(found, name, text, [_("Ge formuläret ett filnamn med små bokstäver, siffror och "
                                               "understreck som slutar på .json.")], 400)
    try:
        schema = jsondata.loads(text, "the form")
        editing.save(extensions.engine(), draft_id, by=g.user.id, seen=request.form.get("row_version",
                                                                                        type=int)
                     if request.form.get("row_version") else found.row_version, forms={name: schema})
    except json.JSONDecodeError as exc:
        return _form_page(found, name, text, [jsonerrors.problem(exc).message], 400)
    except DataNotJSONError:
        return _form_page(found, name, text, [_too_deep()], 400)
    except DefinitionError as exc:
        return _form_page(found, name, text, [say(p.code, p.params) for p in exc.problems], 400)
    except ConflictError:
        return _form_page(found, name, text, [_("Någon annan har sparat utkastet under tiden. Ladda om "
                                               "sidan.")], 409)
    flash(_("Formuläret %(name)s är sparat i utkastet.", name=name), "success")
    return redirect(url_for("editor.draft", draft_id=draft_id))


@bp.post("/rutiner/utkast/<int:draft_id>/formular/forhandsvisning")
@owner_required
def preview_form(draft_id: int) -> Any:
    """htmx: the form as a step would show it, or why the schema is not valid."""
    _draft(draft_id)
    preview, errors, excerpt = _preview(request.form.get("schema", ""))
    return render_template("editor/preview.html", preview=preview, schema_errors=errors, excerpt=excerpt)


def _too_deep() -> str:
    return _("Formuläret är nästlat i fler än %(levels)d nivåer. Inget formulär behöver så många.",
             levels=jsondata.MAX_DEPTH)


def _preview(text: str) -> tuple[list[forms.Field] | None, list[str], str]:
    """The form's fields as a step would show them; or why not, with the faulty line of the JSON."""
    try:
        schema = jsondata.loads(text, "the form")
    except json.JSONDecodeError as exc:
        found = jsonerrors.problem(exc)
        return None, [found.message], found.excerpt
    except DataNotJSONError:
        return None, [_too_deep()], ""
    why = editing.check_form("preview", schema)
    if why:
        return None, [say_coded(w) for w in why], ""
    return forms.build(schema, MultiDict(), {}), [], ""
