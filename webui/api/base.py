"""What every resource module of the API shares: the blueprint, JSON bodies in and out, pages with a
`next` link, row versions as ETags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, json, request, url_for

from .problems import ApiProblem
from .spec import PREFIX

bp = Blueprint("api", __name__, url_prefix=PREFIX)
MAX_LIMIT = 200


def plain(value: Any) -> Any:
    """A value as JSON holds it: times as ISO 8601, ids as text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def answer(
    body: Any, status: int = 200, *, etag: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    response = Response(json.dumps(plain(body)), status=status, mimetype="application/json")
    if etag is not None:
        response.headers["ETag"] = f'"{etag}"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def page(items: list[Any], next_args: dict[str, Any] | None) -> Response:
    """A page of items, with the next page's address (in the body and a Link header) when there is one."""
    if next_args is None:
        return answer({"items": items, "next": None})
    args = {k: v for k, v in request.args.items() if k not in next_args}
    link = url_for(request.endpoint or "", **(request.view_args or {}), **args, **next_args)
    return answer({"items": items, "next": link}, headers={"Link": f'<{link}>; rel="next"'})


def limit() -> int:
    return int_arg("limit", 50, 1, MAX_LIMIT)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ApiProblem(400, f"{name} is a whole number from {low} to {high}.")
    return int(text)


def body() -> dict[str, Any]:
    """The request's JSON object (415 if not JSON, 400 if not an object)."""
    if not request.is_json:
        raise ApiProblem(415)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiProblem(400, "The body must be a JSON object.")
    return data


def if_match() -> int | None:
    """The row version an If-Match header names ("7", or W/"7"); None when none was sent."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise ApiProblem(412, 'If-Match names a row version such as "3".')
    return int(value)
