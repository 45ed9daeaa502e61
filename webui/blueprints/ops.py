"""What an operator's tools call: /healthz, /readyz and Prometheus' /metrics (docs/operations.md).

None of them needs a login. /healthz says only that the process answers; /readyz that the database answers,
its schema is current and the scheduler ran lately (503 and the failing check otherwise); /metrics answers
a request that carries ELEVFLOW_METRICS_TOKEN as a bearer token, or, with no token set, only a request
from this machine (127.0.0.1 or ::1, after the trusted proxies' headers).
"""
from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from elevflow.engine.runtime import health

from .. import extensions
from ..sessions import public

bp = Blueprint("ops", __name__)
LOOPBACK = {"127.0.0.1", "::1"}


@bp.get("/healthz")
@public
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz() -> Any:
    verdict = health.readiness(extensions.engine())
    return jsonify(ready=verdict.ready, checks=verdict.checks), 200 if verdict.ready else 503


@bp.get("/metrics")
@public
def metrics() -> Any:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return jsonify(error="a bearer token (ELEVFLOW_METRICS_TOKEN) is required"), 401
    elif request.remote_addr not in LOOPBACK:
        return jsonify(error="/metrics answers this machine only, unless ELEVFLOW_METRICS_TOKEN is set"), 403
    return health.metrics_text(extensions.engine()), 200, {"Content-Type": CONTENT_TYPE_LATEST}
