"""Ids in addresses: `<int:…>` accepts only a number an id column can hold, so a longer one (which the
database would refuse with an error) names no page — 404, like any id that does not exist."""
from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from elevflow.engine import MAX_ID


class IdConverter(IntegerConverter):
    """`int` in a route: a whole number from 0 to MAX_ID (at most ten digits)."""

    regex = r"\d{1,10}"

    def __init__(self, url_map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Before any blueprint adds its routes."""
    app.url_map.converters["int"] = IdConverter
