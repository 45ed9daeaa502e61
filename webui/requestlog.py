"""Each request gets an id, in the response's X-Request-Id header and in every log line logged while it is
served (engine.logs.REQUEST_ID), and one summary line: method, route, status, milliseconds. The line holds
the path without its query string (a search may hold a name) and never the user.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, request

from elevflow.engine import logs

log = logging.getLogger(__name__)
#: A request id a proxy in front may have set already (kept, so its log and ours match).
GIVEN = re.compile(r"[A-Za-z0-9._-]{8,64}")


def _begin() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if GIVEN.fullmatch(given) else uuid.uuid4().hex
    g.request_token = logs.REQUEST_ID.set(g.request_id)
    g.request_started = time.perf_counter()


def _end(response: Any) -> Any:
    request_id = g.get("request_id")
    if request_id is None:
        return response
    response.headers["X-Request-Id"] = request_id
    if request.endpoint not in {"ops.healthz", "ops.readyz", "ops.metrics", "static"}:
        log.info("%s %s %s %.0f ms", request.method, request.path, response.status_code,
                 (time.perf_counter() - g.request_started) * 1000)
    return response


def _reset(_exc: BaseException | None) -> None:
    token = g.pop("request_token", None)
    if token is not None:
        logs.REQUEST_ID.reset(token)


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
    app.teardown_request(_reset)
