"""Cases: the list a user may see, starting one, one case with its state, its decision documents, its
audit trail and (for the rektor) who opened it. Every look goes through engine.oversight.visibility, as the
case page does: need-to-know checked, the look logged."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from elevflow.engine.documents import signing
from elevflow.engine.errors import FormValidationError, PermissionDeniedError
from elevflow.engine.oversight import visibility
from elevflow.engine.routines import definitions
from elevflow.engine.runtime import cases, failures
from elevflow.engine.storage.jsondata import ensure_json
from elevflow.engine.views import people, pupils

from .. import extensions
from ..codes import say_coded
from .auth import caller
from .base import answer, body, bp, int_arg, limit, page, plain
from .problems import ApiProblem, from_engine
from .spec import LIMIT, items_of, json_response, operation, page_of, query, ref

STATUSES = ("running", "completed", "cancelled")
START = {
    "type": "object",
    "required": ["routine"],
    "additionalProperties": False,
    "properties": {
        "routine": {"type": "string", "minLength": 1, "maxLength": 200},
        "pupil_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "unit_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "data": {"type": "object"},
    },
}
STARTED = {
    "type": "object",
    "required": ["id", "process_key", "status", "row_version", "unit_id"],
    "properties": {
        "id": {"type": "integer"},
        "process_key": {"type": "string"},
        "status": {"type": "string"},
        "row_version": {"type": "integer"},
        "unit_id": {"type": "integer"},
        "pupil_id": {"type": ["integer", "null"]},
    },
}
PDF = {
    "description": "The signed decision (PDF).",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


def summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "process_key": row.process_key,
        "routine": row.routine_name,
        "status": row.status,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "unit_id": row.unit_id,
        "unit": row.unit_name,
        "pupil_id": row.pupil_id,
        "pupil_name": row.pupil_name,
        "pupil_class": row.pupil_class,
    }


@operation(
    bp,
    "GET",
    "/cases",
    summary="The cases the caller may see, newest first",
    scope="cases:read",
    tag="cases",
    query=[
        query("status", {"type": "string", "enum": list(STATUSES)}, "Only cases in this state."),
        query("routine", {"type": "string", "maxLength": 200}, "Only cases of this routine (its key)."),
        query("unit_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "Only this unit's."),
        query(
            "before",
            {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "Cursor: cases older than this id (the `next` link sets it).",
        ),
        LIMIT,
    ],
    responses={"200": json_response(page_of("CaseSummary"))},
)
def list_cases() -> Any:
    who = caller()
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiProblem(400, f"status is one of {', '.join(STATUSES)}.")
    unit = int_arg("unit_id", 0, 1, 2**31 - 1) or None
    before = int_arg("before", 0, 1, 2**31 - 1) or None
    routine = request.args.get("routine") or None
    size = limit()
    if unit is not None and not who.reaches(unit):
        return page([], None)
    found: list[Any] = []
    scanned_to: int | None = None  # where a scan cut short by its rounds stopped: the next page goes on there
    for _round in range(20):  # a token narrowed to some units skips the others' cases
        rows = visibility.visible_cases(
            extensions.engine(),
            who.user_id,
            status=status,
            process_key=routine,
            unit_id=unit,
            before_id=before,
            limit=size + 1,
        )
        found += [r for r in rows if who.reaches(r.unit_id)]
        if len(rows) <= size or len(found) > size:
            scanned_to = None
            break
        before = scanned_to = rows[-1].id  # every row so far is in `found` (or not the token's)
    items = found[:size]
    if len(found) > size:
        return page([summary(r) for r in items], {"before": items[-1].id})
    return page([summary(r) for r in items], {"before": scanned_to} if scanned_to is not None else None)


@operation(
    bp,
    "POST",
    "/cases",
    summary="Start a routine for a pupil, or a unit-level routine for a unit",
    scope="cases:start",
    tag="cases",
    body=START,
    responses={
        "201": json_response(STARTED, "Started.", headers={"Location": {"schema": {"type": "string"}}}),
        "422": {
            "description": "Refused: the routine, pupil or unit, or the routine failed.",
            "content": {"application/problem+json": {"schema": ref("Problem")}},
        },
    },
)
def start_case() -> Any:
    who = caller()
    given = body()
    database = extensions.engine()
    key, pupil_id, unit_id = given.get("routine"), given.get("pupil_id"), given.get("unit_id")
    data = given.get("data") or {}
    if (
        not isinstance(key, str)
        or not isinstance(data, dict)
        or (pupil_id is None) == (unit_id is None)
        or not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (pupil_id, unit_id))
    ):
        raise ApiProblem(
            422,
            "Give `routine` and either `pupil_id` or `unit_id` (and `data`, an object).",
            errors={"routine": [] if isinstance(key, str) else ["required"]},
        )
    if pupil_id is not None:
        pupil = pupils.startable(database, who.user_id, pupil_id)
        if pupil is None or not who.reaches(pupil.unit_id):
            raise ApiProblem(404)
    elif unit_id not in people.case_units(database, who.user_id) or not who.reaches(unit_id):
        raise ApiProblem(404)
    unit_level = definitions.unit_routines(database)
    if key not in definitions.routine_names(database) or (key in unit_level) != (pupil_id is None):
        raise ApiProblem(
            422,
            "No such routine for a " + ("pupil." if pupil_id is not None else "unit."),
            errors={"routine": ["unknown"]},
        )
    try:
        ensure_json(data, "data")
        case = cases.start_case(
            database,
            key,
            pupil_id=pupil_id,
            unit_id=unit_id if pupil_id is None else None,
            by=who.user_id,
            data=data,
        )
    except FormValidationError as exc:
        raise ApiProblem(422, str(exc)) from exc
    except failures.ROUTINE_ERRORS as exc:
        return from_engine(422, exc)
    location = url_for("api.get_case", case_id=case.id)
    return answer(
        {
            "id": case.id,
            "process_key": case.process_key,
            "status": case.status,
            "row_version": case.row_version,
            "unit_id": case.unit_id,
            "pupil_id": case.pupil_id,
        },
        201,
        etag=case.row_version,
        headers={"Location": location},
    )


def detail() -> str:
    """What the access log says about a look through the API: which token (or the session)."""
    token = caller().token
    return f"API {token.prefix}" if token is not None else "API"


def reach(case_id: int) -> None:
    """A token narrowed to units sees no case of another unit (404, as one that does not exist)."""
    who = caller()
    if who.token is not None and who.token.unit_ids is not None:
        try:
            unit = cases.get_case(extensions.engine(), case_id).unit_id
        except Exception as exc:  # noqa: BLE001 - NotFoundError, or any id that names no case
            raise ApiProblem(404) from exc
        if not who.reaches(unit):
            raise ApiProblem(404)


def task_entry(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "bpmn_id": t.bpmn_id,
        "name": t.name,
        "role": t.role,
        "state": t.state,
        "assignee_id": t.assignee_id,
        "due_at": t.due_at,
        "created_at": t.created_at,
        "completed_at": t.completed_at,
        "completed_by": t.completed_by,
        "withheld": t.withheld,
        "data": t.data if not t.withheld else None,
    }


@operation(
    bp,
    "GET",
    "/cases/{case_id}",
    summary="One case: its state, tasks and decisions (logged)",
    scope="cases:read",
    tag="cases",
    responses={"200": json_response(ref("Case"), headers={"ETag": {"schema": {"type": "string"}}})},
)
def get_case(case_id: int) -> Any:
    reach(case_id)
    view = visibility.open_case(extensions.engine(), caller().user_id, case_id, detail=detail())
    shown = {
        "id": view.id,
        "process_key": view.process_key,
        "routine": view.routine_name,
        "version_id": view.process_version_id,
        "status": view.status,
        "started_at": view.started_at,
        "ended_at": view.ended_at,
        "started_by": view.started_by,
        "row_version": view.row_version,
        "unit_id": view.unit_id,
        "unit": view.unit_name,
        "pupil_id": view.pupil_id,
        "pupil_name": view.pupil_name,
        "pupil_class": view.pupil_class,
        "error": say_error_text(view),
        "tasks": [{**task_entry(t), "case_id": view.id} for t in view.tasks],
        "decisions": [
            {
                "id": d.id,
                "task_id": d.task_id,
                "decision": d.decision,
                "signer_id": d.signer_id,
                "signed_at": d.signed_at,
                "document_sha256": d.document_sha256,
            }
            for d in view.decisions
        ],
    }
    return answer(shown, etag=view.row_version)


def say_error_text(view: Any) -> str | None:
    if view.error_code is not None:
        return say_coded(view.error_code)
    return view.error


@operation(
    bp,
    "GET",
    "/cases/{case_id}/decisions/{decision_id}",
    summary="A signed decision's PDF (logged)",
    scope="cases:read",
    tag="cases",
    responses={"200": PDF},
)
def get_decision(case_id: int, decision_id: int) -> Any:
    reach(case_id)
    filename, document = signing.decision_document(
        extensions.engine(), caller().user_id, decision_id, case_id
    )
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@operation(
    bp,
    "GET",
    "/cases/{case_id}/audit",
    summary="The case's audit trail, oldest first (logged)",
    scope="audit:read",
    tag="audit",
    responses={
        "200": json_response(items_of("AuditEvent"))
    },
)
def case_audit(case_id: int) -> Any:
    reach(case_id)
    database = extensions.engine()
    visibility.log_access(database, caller().user_id, case_id, "export_audit", detail())
    entries = visibility.case_timeline(database, caller().user_id, case_id)
    return answer(
        {
            "items": [
                {
                    "at": e.at,
                    "kind": e.kind,
                    "actor_id": e.actor_id,
                    "actor_name": e.actor_name,
                    "params": plain(e.params),
                }
                for e in entries
            ]
        }
    )


@operation(
    bp,
    "GET",
    "/cases/{case_id}/access-log",
    summary="Who opened the case and when: for the rektor of the pupil's unit (logged)",
    scope="audit:read",
    tag="audit",
    responses={
        "200": json_response(items_of("AccessEntry"))
    },
)
def case_access_log(case_id: int) -> Any:
    reach(case_id)
    database = extensions.engine()
    who = caller()
    if not visibility.can_view_case(database, who.user_id, case_id):
        raise ApiProblem(404)
    pupil_id = cases.get_case(database, case_id).pupil_id
    if pupil_id is None:
        raise ApiProblem(404, "A unit-level case has no pupil whose access history could be shown.")
    try:
        _pupil, rows = pupils.access_history(database, pupil_id, asked_by=who.user_id)
    except PermissionDeniedError as exc:
        raise ApiProblem(403, "Only the rektor of the pupil's school unit sees who opened the case.") from exc
    return answer(
        {
            "items": [
                {
                    "at": r.at,
                    "user_id": r.user_id,
                    "user_name": r.user_name,
                    "case_id": r.case_id,
                    "action": r.action,
                    "allowed": r.allowed,
                    "detail": r.detail,
                }
                for r in rows
                if r.case_id == case_id
            ]
        }
    )
