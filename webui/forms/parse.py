"""From submitted form fields to JSON values by the schema's types, and back (to fill a form again).

An empty field is left out of the data, so "required" is what the schema says about it and an optional
date left empty is not an invalid date. A value that does not read as its type (letters in a number) is
passed on as typed, so validation names it beside the field and the form shows it again unchanged; so is
a number too large to store (beyond 64 bits, or beyond a float's range).
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from elevflow.engine.storage.jsondata import MAX_INT, MIN_INT

from .schema import MAX_ROWS, PREFIX, ROWS, choices, join, main_type, properties, widget

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ABSENT, WEAK, PRESENT = 0, 1, 2  # WEAK: an unticked checkbox (False, but no sign anyone filled it in)
Raw = MultiDict  # field name -> submitted string(s)
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def parse(schema: dict[str, Any], raw: Raw) -> dict[str, Any]:
    """The JSON data a submitted form stands for."""
    value, _ = _parse(schema, raw, "", True)
    return value if isinstance(value, dict) else {}


def _parse(schema: dict[str, Any], raw: Raw, path: str, required: bool) -> tuple[Any, int]:
    kind = widget(schema, required)
    name = PREFIX + path
    if kind == "group":
        data, strength = {}, ABSENT
        for key, sub, sub_required in properties(schema):
            value, found = _parse(sub, raw, join(path, key), sub_required)
            if found:
                data[key] = value
                strength = max(strength, found)
        return data, strength
    if kind == "rows":
        items = []
        for i in range(row_count(raw, path)):
            value, found = _parse(schema.get("items") or {}, raw, join(path, i), True)
            if found == PRESENT:
                items.append(value)
        return items, PRESENT if items else ABSENT
    if kind == "checkboxes":
        item = schema.get("items") or {}
        values = [_typed(item, v) for v in raw.getlist(name) if v != ""]
        return values, PRESENT if values else ABSENT
    text = raw.get(name, "")
    if kind == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return [_typed(schema.get("items") or {}, line) for line in lines], PRESENT if lines else ABSENT
    if kind == "checkbox":
        return (True, PRESENT) if text else (False, WEAK)
    if kind == "yesno":
        return {"true": (True, PRESENT), "false": (False, PRESENT)}.get(text, (None, ABSENT))
    text = text.replace("\r\n", "\n").strip()
    if text == "":
        return None, ABSENT
    if kind == "datetime":
        return _datetime(text), PRESENT
    return _typed(schema, text), PRESENT


def _typed(schema: dict[str, Any], text: str) -> Any:
    """`text` as the schema's type, or unchanged when it does not read as one."""
    kind = main_type(schema)
    if kind is None and choices(schema):
        kind = JSON_TYPES.get(type(choices(schema)[0][0]))
    try:
        if kind == "integer":
            return _storable(int(text.replace(" ", "").replace("\u00a0", "")), text)
        if kind == "number":
            number = float(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
            if not math.isfinite(number):
                return text
            whole = number.is_integer() and "." not in text and "," not in text
            return _storable(int(number), text) if whole else number
        if kind == "boolean":
            return {"true": True, "false": False}.get(text, text)
    except ValueError:
        return text
    return text


def _storable(number: int, text: str) -> int | str:
    """An integer the database can hold (64 bits), or the text as typed, for validation to name."""
    return number if MIN_INT <= number <= MAX_INT else text


def _datetime(text: str) -> str:
    """A datetime-local value (Swedish time) as an ISO 8601 time with its offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=STOCKHOLM)
    return moment.isoformat(timespec="seconds")


def row_count(raw: Raw, path: str) -> int:
    try:
        return max(0, min(MAX_ROWS, int(raw.get(ROWS + path, "0"))))
    except ValueError:
        return 0


def to_raw(schema: dict[str, Any], data: dict[str, Any] | None = None, *, defaults: bool = False) -> Raw:
    """Form fields showing `data` (or, without data, the schema's defaults; with `defaults`, the
    defaults of whatever `data` leaves out: a form proposed in part)."""
    raw: Raw = MultiDict()
    _fill(schema, data, raw, "", True, use_defaults=data is None or defaults)
    return raw


def _fill(schema: dict[str, Any], value: Any, raw: Raw, path: str, required: bool,
          use_defaults: bool) -> None:
    if value is None and use_defaults:
        value = schema.get("default")
    kind = widget(schema, required)
    name = PREFIX + path
    if kind == "group":
        for key, sub, sub_required in properties(schema):
            _fill(sub, value.get(key) if isinstance(value, dict) else None, raw, join(path, key),
                  sub_required, use_defaults)
    elif kind == "rows":
        items = value if isinstance(value, list) else []
        raw[ROWS + path] = str(max(len(items), schema.get("minItems") or 0, 1))
        for i, item in enumerate(items):
            _fill(schema.get("items") or {}, item, raw, join(path, i), True, use_defaults)
    elif kind == "checkboxes":
        for item in value if isinstance(value, list) else []:
            raw.add(name, _text(item))
    elif value is None:
        return
    elif kind == "lines":
        raw[name] = "\n".join(_text(v) for v in value) if isinstance(value, list) else _text(value)
    elif kind == "checkbox":
        if value is True:
            raw[name] = "on"
    elif kind == "datetime":
        raw[name] = _local(value)
    else:
        raw[name] = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _local(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(STOCKHOLM)
    return moment.strftime("%Y-%m-%dT%H:%M")


def apply_action(raw: Raw, action: str) -> Raw:
    """The form after "add a row" (``add:PATH``) or "remove row" (``remove:PATH.INDEX``)."""
    verb, _, target = action.partition(":")
    if verb == "add":
        updated = MultiDict(raw)
        updated[ROWS + target] = str(min(MAX_ROWS, row_count(raw, target) + 1))
        return updated
    if verb == "remove" and "." in target:
        path, _, index = target.rpartition(".")
        if index.isdigit():
            return _without_row(raw, path, int(index))
    return raw


def _without_row(raw: Raw, path: str, index: int) -> Raw:
    """The form with row `index` of the rows at `path` taken out and the later rows moved up."""
    count = row_count(raw, path)
    result: Raw = MultiDict()
    for key, value in raw.items(multi=True):
        for prefix in (PREFIX, ROWS):
            head = f"{prefix}{path}."
            if key.startswith(head):
                number, dot, rest = key[len(head):].partition(".")
                if number.isdigit():
                    row = int(number)
                    if row == index:
                        break
                    if row > index:
                        key = f"{head}{row - 1}{dot}{rest}"
        else:
            result.add(key, value)
    result[ROWS + path] = str(max(0, count - 1))
    return result
