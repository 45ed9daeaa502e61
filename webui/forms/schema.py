"""Reading a JSON Schema property: its type, its choices, and which widget shows it."""
from __future__ import annotations

from typing import Any

PREFIX = "f."
ROWS = "_rows."
MAX_ROWS = 100
RADIO_MAX = 5  # more choices than this: a select
TEXTAREA_FROM = 500  # a string with no maxLength, or a longer one, is a textarea


def main_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        return "object"
    return kind


def choices(schema: dict[str, Any]) -> list[tuple[Any, str]]:
    """(value, label) pairs of an enum, or of a oneOf/anyOf whose branches are all `const` (with title)."""
    if "enum" in schema:
        return [(value, str(value)) for value in schema["enum"]]
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if branches and all(isinstance(b, dict) and "const" in b for b in branches):
            return [(b["const"], str(b.get("title") or b["const"])) for b in branches]
    return []


def widget(schema: dict[str, Any], required: bool) -> str:
    """The kind of field that shows a property: text, textarea, date, datetime, integer, number,
    checkbox, yesno, radio, select, checkboxes, lines, group or rows."""
    kind = main_type(schema)
    if kind == "object":
        return "group"
    if kind == "array":
        items = schema.get("items") or {}
        if choices(items):
            return "checkboxes"
        return "rows" if main_type(items) == "object" else "lines"
    options = choices(schema)
    if options:
        return "radio" if len(options) <= RADIO_MAX else "select"
    if kind == "boolean":
        return "yesno" if required else "checkbox"
    if kind in ("integer", "number"):
        return kind
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "date-time":
        return "datetime"
    longest = schema.get("maxLength")
    if "pattern" not in schema and (longest is None or longest > TEXTAREA_FROM):
        return "textarea"
    return "text"


def join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """An object's properties in schema order: (name, schema, required)."""
    required = set(schema.get("required") or [])
    return [(name, sub if isinstance(sub, dict) else {}, name in required)
            for name, sub in (schema.get("properties") or {}).items()]
