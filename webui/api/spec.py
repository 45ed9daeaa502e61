"""The API's operations, each declared once with its route: the OpenAPI 3.1 document is generated from
these declarations (`document`), and tests/web/test_api.py checks that every route of /api/v1 is one of
them and that schemathesis finds every response as the document says."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint

from elevflow.engine.org.apitokens import SCOPES

from ..sessions import PUBLIC

PREFIX = "/api/v1"
PARAM = re.compile(r"\{(\w+)\}")
#: The path parameter's OpenAPI schema and its Flask converter, by name.
PATH_PARAMS: dict[str, tuple[dict[str, Any], str]] = {
    "case_id": ({"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "int"),
    "decision_id": ({"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "int"),
    "unit_id": ({"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "int"),
    "task_id": ({"type": "string", "format": "uuid"}, "uuid"),
    "key": (
        {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z_][A-Za-z0-9_.-]*$"},
        "string",
    ),
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form, under PREFIX: /cases/{case_id}
    endpoint: str
    summary: str
    scope: str | None  # None: any authenticated caller (the document itself: anyone)
    tag: str
    query: list[dict[str, Any]] = field(default_factory=list)
    body: dict[str, Any] | None = None
    responses: dict[str, Any] = field(default_factory=dict)
    headers: list[dict[str, Any]] = field(default_factory=list)
    public: bool = False


OPERATIONS: list[Operation] = []


def flask_rule(path: str) -> str:
    return PARAM.sub(lambda m: f"<{PATH_PARAMS[m.group(1)][1]}:{m.group(1)}>", path)


def json_response(
    schema: dict[str, Any], description: str = "OK", headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    said: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        said["headers"] = headers
    return said


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Items per page.")


def operation(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    summary: str,
    scope: str | None,
    tag: str,
    query: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    responses: dict[str, Any],
    headers: list[dict[str, Any]] | None = None,
    public: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view as the operation `method path` of the API, and describe it."""
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                method,
                path,
                f"{bp.name}.{view.__name__}",
                summary,
                scope,
                tag,
                list(query or []),
                body,
                responses,
                list(headers or []),
                public,
            )
        )
        setattr(view, PUBLIC, True)  # not the pages' login redirect: auth.py answers 401 itself
        bp.add_url_rule(flask_rule(path), view_func=view, methods=[method])
        return view

    return register


def _errors(op: Operation) -> dict[str, Any]:
    said = {
        "400": "The request could not be read.",
        "404": "No such resource, or not one the caller may see (the two read the same).",
        "429": "Too many requests: see Retry-After.",
    }
    if not op.public:
        said["401"] = "No valid token or session."
        said["403"] = "The token lacks the operation's scope, or the caller may not do this."
    if op.method in ("POST", "PUT", "PATCH", "DELETE"):
        said["415"] = "The body is not JSON."
    out = {
        code: {"description": text, "content": {"application/problem+json": {"schema": PROBLEM}}}
        for code, text in said.items()
    }
    return out


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared operation."""
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        parameters = (
            [
                {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name][0]}
                for name in PARAM.findall(op.path)
            ]
            + op.query
            + op.headers
        )
        said: dict[str, Any] = {
            "operationId": op.endpoint.split(".", 1)[1],
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": {**_errors(op), **op.responses},
        }
        if op.scope:
            said["description"] = f"Scope: `{op.scope}`."
        if op.public:
            said["security"] = []
        if op.body is not None:
            said["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = said
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Elevflow integration API",
            "version": "1",
            "description": "Cases, tasks, routines, decisions, audit and the organisation of Elevflow "
            "for other systems. See docs/api.md.",
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (elv_...) of a system account: "
                    + "; ".join(f"{k}: {v}" for k, v in SCOPES.items()),
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The logged-in user's own session (the browser); unsafe methods "
                    "need the X-CSRFToken header.",
                },
            },
            "schemas": SCHEMAS,
        },
    }


NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string"},
            "params": {"type": "object"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "Page": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {"items": {"type": "array"}, "next": NULLABLE_STR},
    },
    "Routine": {
        "type": "object",
        "required": ["key", "name", "latest_version", "versions"],
        "properties": {
            "key": {"type": "string"},
            "name": {"type": "string"},
            "latest_version": {"type": "integer"},
            "versions": {"type": "array", "items": {"$ref": "#/components/schemas/Version"}},
        },
    },
    "Version": {
        "type": "object",
        "required": ["id", "key", "version", "name", "deployed_at"],
        "properties": {
            "id": {"type": "integer"},
            "key": {"type": "string"},
            "version": {"type": "integer"},
            "name": {"type": "string"},
            "deployed_at": TIME,
            "note": NULLABLE_STR,
        },
    },
    "CaseSummary": {
        "type": "object",
        "required": ["id", "process_key", "routine", "status", "started_at", "unit_id"],
        "properties": {
            "id": {"type": "integer"},
            "process_key": {"type": "string"},
            "routine": {"type": "string"},
            "status": {"type": "string", "enum": ["running", "completed", "cancelled"]},
            "started_at": TIME,
            "ended_at": NULLABLE_TIME,
            "unit_id": {"type": "integer"},
            "unit": {"type": "string"},
            "pupil_id": NULLABLE_INT,
            "pupil_name": NULLABLE_STR,
            "pupil_class": NULLABLE_STR,
        },
    },
    "Task": {
        "type": "object",
        "required": ["id", "case_id", "bpmn_id", "name", "state"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "case_id": {"type": "integer"},
            "bpmn_id": {"type": "string"},
            "name": {"type": "string"},
            "role": NULLABLE_STR,
            "state": {"type": "string"},
            "assignee_id": NULLABLE_INT,
            "due_at": NULLABLE_TIME,
            "created_at": TIME,
            "completed_at": NULLABLE_TIME,
            "completed_by": NULLABLE_INT,
            "withheld": {"type": "boolean"},
            "data": {"type": ["object", "null"]},
            "unit_id": {"type": "integer"},
            "process_key": {"type": "string"},
            "pupil_id": NULLABLE_INT,
            "form": {"type": ["object", "null"]},
            "case_row_version": {"type": "integer"},
            "decision": {"type": "boolean"},
        },
    },
    "Case": {
        "type": "object",
        "required": ["id", "process_key", "status", "row_version", "unit_id", "tasks", "decisions"],
        "properties": {
            "id": {"type": "integer"},
            "process_key": {"type": "string"},
            "routine": {"type": "string"},
            "version_id": {"type": "integer"},
            "status": {"type": "string"},
            "started_at": TIME,
            "ended_at": NULLABLE_TIME,
            "started_by": NULLABLE_INT,
            "row_version": {"type": "integer"},
            "unit_id": {"type": "integer"},
            "unit": {"type": "string"},
            "pupil_id": NULLABLE_INT,
            "pupil_name": NULLABLE_STR,
            "pupil_class": NULLABLE_STR,
            "error": NULLABLE_STR,
            "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
            "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}},
        },
    },
    "Decision": {
        "type": "object",
        "required": ["id", "decision", "signed_at", "document_sha256"],
        "properties": {
            "id": {"type": "integer"},
            "task_id": {"type": "string"},
            "decision": {"type": "string"},
            "signer_id": {"type": "integer"},
            "signed_at": TIME,
            "document_sha256": {"type": "string"},
        },
    },
    "AuditEvent": {
        "type": "object",
        "required": ["at", "kind"],
        "properties": {
            "at": TIME,
            "kind": {"type": "string"},
            "actor_id": NULLABLE_INT,
            "actor_name": NULLABLE_STR,
            "params": {"type": "object"},
        },
    },
    "AccessEntry": {
        "type": "object",
        "required": ["at", "action", "allowed"],
        "properties": {
            "at": TIME,
            "user_id": NULLABLE_INT,
            "user_name": NULLABLE_STR,
            "case_id": NULLABLE_INT,
            "action": {"type": "string"},
            "allowed": {"type": "boolean"},
            "detail": {"type": "string"},
        },
    },
    "ImportReport": {
        "type": "object",
        "required": ["dry_run", "changed", "summary"],
        "properties": {
            "dry_run": {"type": "boolean"},
            "changed": {"type": "boolean"},
            "summary": {"type": "string"},
            "lines": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "array", "items": {"type": "string"}},
            "counts": {"type": "object"},
        },
    },
}


def page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next": NULLABLE_STR,
        },
    }


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def items_of(name: str) -> dict[str, Any]:
    """An answer that is a whole list (no pages): {"items": [NAME, ...]}."""
    return {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": ref(name)}}}
