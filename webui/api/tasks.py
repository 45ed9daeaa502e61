"""Tasks: the caller's inbox, a unit's pool of tasks nobody has taken, one task, and completing it with
its form data and the case's row version (If-Match). The same engine services as the inbox and the task
page: worklist.worklist, taskview.open_task (logged), tasks.complete_task."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import request

from elevflow.engine.errors import ConflictError, FormValidationError, NotStaffError
from elevflow.engine.runtime import failures, tasks
from elevflow.engine.views import people, taskview
from elevflow.engine.work import worklist
from elevflow.engine.work.worklist import DUE_FILTERS, Filter

from .. import extensions
from .auth import caller
from .base import answer, body, bp, if_match, int_arg, limit, page
from .problems import ApiProblem, from_engine, problem
from .spec import LIMIT, json_response, operation, query, ref

INBOX_ITEM = {
    "type": "object",
    "required": ["id", "case_id", "name", "process_key", "unit_id"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "case_id": {"type": "integer"},
        "bpmn_id": {"type": "string"},
        "name": {"type": "string"},
        "process_key": {"type": "string"},
        "routine": {"type": "string"},
        "unit_id": {"type": "integer"},
        "unit": {"type": "string"},
        "pupil_id": {"type": ["integer", "null"]},
        "pupil_name": {"type": ["string", "null"]},
        "pupil_class": {"type": ["string", "null"]},
        "role": {"type": ["string", "null"]},
        "assignee_id": {"type": ["integer", "null"]},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "overdue": {"type": "boolean"},
        "mine": {"type": "boolean"},
        "may_claim": {"type": "boolean"},
    },
}
ITEMS = {
    "type": "object",
    "required": ["items", "next"],
    "properties": {"items": {"type": "array", "items": INBOX_ITEM}, "next": {"type": ["string", "null"]}},
}
COMPLETE = {
    "type": "object",
    "required": ["data"],
    "additionalProperties": False,
    "properties": {
        "data": {"type": "object"},
        "row_version": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    },
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The case's row version (the task's ETag); or `row_version` in the body.",
}
PROBLEM_JSON = {"content": {"application/problem+json": {"schema": ref("Problem")}}}


def _item(i: Any) -> dict[str, Any]:
    return {
        "id": i.id,
        "case_id": i.case_id,
        "bpmn_id": i.bpmn_id,
        "name": i.name,
        "process_key": i.process_key,
        "routine": i.routine,
        "unit_id": i.unit_id,
        "unit": i.unit,
        "pupil_id": i.pupil_id,
        "pupil_name": None if i.protected_identity else i.pupil_name,
        "pupil_class": None if i.protected_identity else i.pupil_class,
        "role": i.role,
        "assignee_id": i.assignee_id,
        "due_at": i.due_at,
        "overdue": i.overdue,
        "mine": i.mine,
        "may_claim": i.may_claim,
    }


def _worklist(chosen: Filter) -> Any:
    who = caller()
    size, offset = limit(), int_arg("offset", 0, 0, 100_000)
    found = worklist.worklist(extensions.engine(), who.user_id, chosen, limit=size, offset=offset)
    items = [_item(i) for i in found.items if who.reaches(i.unit_id)]
    return page(items, {"offset": offset + size} if found.truncated else None)


OFFSET = query(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": 100000, "default": 0},
    "Items to skip (the `next` link sets it).",
)


@operation(
    bp,
    "GET",
    "/tasks",
    summary="The caller's inbox: open tasks assigned to them or in their lanes",
    scope="tasks:read",
    tag="tasks",
    query=[
        query("routine", {"type": "string", "maxLength": 200}, "Only this routine's (its key)."),
        query("unit_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "Only this unit's."),
        query(
            "due",
            {"type": "string", "enum": list(DUE_FILTERS)},
            "forsenade: overdue; snart: due within 3 days.",
        ),
        query("unclaimed", {"type": "boolean"}, "Only tasks nobody has taken."),
        LIMIT,
        OFFSET,
    ],
    responses={"200": json_response(ITEMS)},
)
def inbox() -> Any:
    unit = int_arg("unit_id", 0, 1, 2**31 - 1) or None
    due = request.args.get("due", "")
    if due and due not in DUE_FILTERS:
        raise ApiProblem(400, f"due is one of {', '.join(DUE_FILTERS)}.")
    unclaimed = request.args.get("unclaimed", "false")
    if unclaimed not in ("true", "false"):
        raise ApiProblem(400, "unclaimed is true or false.")
    return _worklist(
        Filter(
            routine=request.args.get("routine", "")[:200], unit=unit, due=due, unclaimed=unclaimed == "true"
        )
    )


@operation(
    bp,
    "GET",
    "/units/{unit_id}/tasks",
    summary="A unit's pool: open tasks nobody has taken, in the caller's lanes there",
    scope="tasks:read",
    tag="tasks",
    query=[LIMIT, OFFSET],
    responses={"200": json_response(ITEMS)},
)
def unit_pool(unit_id: int) -> Any:
    who = caller()
    if unit_id not in people.units(extensions.engine(), who.user_id) or not who.reaches(unit_id):
        raise ApiProblem(404)
    return _worklist(Filter(unit=unit_id, unclaimed=True))


def _open(task_id: UUID, *, log: bool) -> Any:
    """The task if the caller may work on it or did (the task page's rule); else 404, as for no task."""
    who = caller()
    view = taskview.open_task(extensions.engine(), who.user_id, task_id, log=log)
    involved = view.may_complete or (
        view.state != "ready" and (view.serves or who.user_id in (view.completed_by, view.assignee_id))
    )
    if not involved or not who.reaches(view.unit_id):
        raise ApiProblem(404)
    return view


@operation(
    bp,
    "GET",
    "/tasks/{task_id}",
    summary="One task, with its form (JSON Schema); logged",
    scope="tasks:read",
    tag="tasks",
    responses={"200": json_response(ref("Task"), headers={"ETag": {"schema": {"type": "string"}}})},
)
def get_task(task_id: UUID) -> Any:
    view = _open(task_id, log=True)
    return answer(
        {
            "id": view.id,
            "case_id": view.case_id,
            "bpmn_id": view.bpmn_id,
            "name": view.name,
            "role": view.role,
            "state": view.state,
            "assignee_id": view.assignee_id,
            "due_at": view.due_at,
            "created_at": view.created_at,
            "completed_at": view.completed_at,
            "completed_by": view.completed_by,
            "unit_id": view.unit_id,
            "process_key": view.process_key,
            "pupil_id": view.pupil_id,
            "form": view.schema,
            "case_row_version": view.case_row_version,
            "decision": view.is_decision,
        },
        etag=view.case_row_version,
    )


@operation(
    bp,
    "POST",
    "/tasks/{task_id}/complete",
    summary="Complete a task with its form data",
    scope="tasks:complete",
    tag="tasks",
    body=COMPLETE,
    headers=[IF_MATCH],
    responses={
        "200": json_response(ref("Task"), "Completed.", headers={"ETag": {"schema": {"type": "string"}}}),
        "409": {"description": "Someone else changed the case or the task first.", **PROBLEM_JSON},
        "412": {"description": "If-Match could not be read.", **PROBLEM_JSON},
        "422": {"description": "The data was refused: `errors` per field.", **PROBLEM_JSON},
        "428": {"description": "No row version was sent.", **PROBLEM_JSON},
    },
)
def complete(task_id: UUID) -> Any:
    who = caller()
    given = body()
    seen = if_match()
    if seen is None:
        version = given.get("row_version")
        if version is None:
            raise ApiProblem(428, "Send the case's row version: If-Match, or row_version in the body.")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ApiProblem(422, "row_version is a whole number.", errors={"row_version": ["integer"]})
        seen = version
    data = given.get("data")
    if not isinstance(data, dict):
        raise ApiProblem(422, "data is the form's answers, an object.", errors={"data": ["object"]})
    view = _open(task_id, log=False)
    if view.is_decision:
        raise ApiProblem(403, "A decision is signed in the web app, with the signer's password.")
    if not view.may_complete:
        raise ApiProblem(404)
    database = extensions.engine()
    try:
        done = tasks.complete_task(database, task_id, data, by=who.user_id, expected_row_version=seen)
    except NotStaffError as exc:
        return problem(422, "A person the form names may not take the task.", errors=exc.errors)
    except FormValidationError as exc:
        return problem(422, "The form's data was refused.", errors=exc.errors)
    except ConflictError as exc:
        return from_engine(409, exc)
    except failures.ROUTINE_ERRORS as exc:
        return from_engine(422, exc)
    row = tasks.get_task(database, task_id)
    return answer(
        {
            "id": row.id,
            "case_id": row.case_id,
            "bpmn_id": row.bpmn_id,
            "name": done.name,
            "role": row.role,
            "state": row.state,
            "assignee_id": row.assignee_id,
            "due_at": row.due_at,
            "created_at": row.created_at,
            "completed_at": row.completed_at,
            "completed_by": row.completed_by,
            "unit_id": row.unit_id,
            "process_key": row.process_key,
            "pupil_id": row.pupil_id,
            "decision": False,
            "case_row_version": done.case_row_version,
        },
        etag=done.case_row_version,
    )
