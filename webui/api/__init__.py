"""The integration API, /api/v1: JSON for other systems (and the browser, with the user's own session).

A module per resource (routines, cases, tasks, organisation) declares its operations with `spec.operation`,
from which the OpenAPI document is made (docs.py serves it). Every operation calls the same engine services
as the pages, with the caller's user id (auth.py): need-to-know, the access log and every right are the
pages' own. Errors are problem details (problems.py). docs/api.md says all of it for integrators.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from elevflow.engine.errors import ConflictError, NotFoundError, PermissionDeniedError
from elevflow.engine.oversight.visibility import NotVisibleError

from ..security import csrf
from . import auth, cases, docs, organisation, routines, spec, tasks  # noqa: E402,F401 - they declare the operations
from .base import bp
from .problems import ApiProblem, from_engine, from_exception, problem


@bp.before_request
def _authenticate() -> Any:
    op = _operation()
    auth.authenticate(public=op is not None and op.public)
    if op is not None and not op.public and not auth.caller().may(op.scope):
        raise ApiProblem(403, f"The token lacks the scope {op.scope}.")
    return None


def _operation() -> spec.Operation | None:
    return next((op for op in spec.OPERATIONS if op.endpoint == request.endpoint), None)


@bp.errorhandler(ApiProblem)
def _problem(exc: ApiProblem) -> Any:
    return from_exception(exc)


@bp.errorhandler(
    NotFoundError
)  # NotVisibleError too: a case one may not see reads as one that does not exist
def _not_found(exc: NotFoundError) -> Any:
    return problem(404)


@bp.errorhandler(PermissionDeniedError)
def _denied(exc: PermissionDeniedError) -> Any:
    if isinstance(exc, NotVisibleError):
        return problem(404)
    return from_engine(403, exc) if exc.code else problem(403)


@bp.errorhandler(ConflictError)
def _conflict(exc: ConflictError) -> Any:
    return from_engine(409, exc)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Any:
    return from_exception(exc)


def is_api_request() -> bool:
    return request.path == spec.PREFIX or request.path.startswith(spec.PREFIX + "/")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # a token needs none; a session's unsafe request is checked in auth.authenticate
    app.register_blueprint(bp)
