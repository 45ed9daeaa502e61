"""RFC 9457 problem details (application/problem+json) for every error of the API: `type` names the
problem — an engine code (engine/codes.py, `urn:elevflow:problem:conflict.case_changed`) when the engine
refused, else one of the API's own (`PROBLEMS`) — `detail` says it in the request's language (Swedish by
default, English with the session's choice), and `errors` holds per-field messages (422)."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from elevflow.engine.errors import ElevflowError

from ..codes import say_error

URN = "urn:elevflow:problem:"
#: The API's own problems: status -> (code, title). docs/api.md lists them.
PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("api.bad_request", "The request could not be read"),
    401: ("api.unauthenticated", "No valid API token or session"),
    403: ("api.forbidden", "Not allowed"),
    404: ("api.not_found", "No such resource, or not one you may see"),
    405: ("api.method_not_allowed", "Method not allowed"),
    409: ("api.conflict", "Someone else was first"),
    412: ("api.precondition_failed", "The row version does not match"),
    413: ("api.too_large", "The request is too large"),
    415: ("api.not_json", "The body must be JSON"),
    422: ("api.invalid", "The data was refused"),
    428: ("api.precondition_required", "Send the row version (If-Match)"),
    429: ("api.rate_limited", "Too many requests"),
    500: ("api.internal", "Internal error"),
}


class ApiProblem(Exception):
    """Raised in a view: answered as a problem."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status, self.detail, self.code, self.extra = status, detail, code, extra
        self.headers = headers or {}


def problem(
    status: int,
    detail: str = "",
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    own, title = PROBLEMS.get(status, (f"api.http_{status}", "Error"))
    body: dict[str, Any] = {
        "type": URN + (code or own),
        "title": title,
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if code:
        body["code"] = code
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_engine(status: int, exc: ElevflowError, **extra: Any) -> Response:
    """An engine refusal: its code and parameters, and the text in the request's language."""
    params = {
        k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in exc.params.items()
    }
    return problem(status, say_error(exc), code=exc.code, **({"params": params} if exc.code else {}), **extra)


def from_exception(exc: BaseException) -> Response:
    if isinstance(exc, ApiProblem):
        return problem(exc.status, exc.detail, code=exc.code, headers=exc.headers, **exc.extra)
    if isinstance(exc, HTTPException):
        return problem(exc.code or 500, headers=dict(exc.get_headers()) if exc.code == 405 else None)
    return problem(500)
