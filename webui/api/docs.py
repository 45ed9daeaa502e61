"""The OpenAPI document, and a page listing the operations for a person (server-rendered: no scripts)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from .base import answer, bp
from .spec import OPERATIONS, PREFIX, document, json_response, operation

OPENAPI = {"type": "object", "required": ["openapi", "paths"]}
HTML = {"description": "The operations, as a page.", "content": {"text/html": {"schema": {"type": "string"}}}}


@operation(
    bp,
    "GET",
    "/openapi.json",
    summary="This API's OpenAPI 3.1 document",
    scope=None,
    tag="meta",
    responses={"200": json_response(OPENAPI)},
    public=True,
)
def openapi() -> Any:
    return answer(document())


@operation(
    bp,
    "GET",
    "/docs",
    summary="The operations, for a person to read",
    scope=None,
    tag="meta",
    responses={"200": HTML},
    public=True,
)
def docs() -> Any:
    return render_template(
        "api/docs.html", operations=sorted(OPERATIONS, key=lambda o: (o.tag, o.path)), prefix=PREFIX
    )
