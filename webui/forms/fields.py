"""The fields of a form, built from its JSON Schema, the values to show and the messages to show beside
them; templates/forms/fields.html draws them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from .parse import Raw, row_count
from .schema import PREFIX, ROWS, choices, join, main_type, properties, widget


@dataclass
class Field:
    """One field (or fieldset) of a form."""

    kind: str
    path: str
    label: str
    help: str = ""
    required: bool = False
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list[Field] = field(default_factory=list)

    @property
    def name(self) -> str:
        return PREFIX + self.path

    @property
    def id(self) -> str:
        return "f-" + self.path.replace(".", "-") if self.path else "f"

    @property
    def describedby(self) -> str:
        ids = ([self.id + "-help"] if self.help else []) + ([self.id + "-error"] if self.errors else [])
        return " ".join(ids)


def build(schema: dict[str, Any], raw: Raw, errors: dict[str, list[str]],
          people: dict[str, list[tuple[int, str]]] | None = None) -> list[Field]:
    """The fields of a form (its top-level properties), filled from `raw`, with `errors` beside them.

    `people` maps top-level fields that name a member of staff (by user id) to the people who may be
    named: such a field is a choice among them rather than a number to type.
    """
    fields = [_field(sub, raw, errors, name, name, required) for name, sub, required in properties(schema)]
    for found in fields:
        if people and found.path in people and found.kind in ("integer", "select", "radio"):
            found.kind = "select"
            found.options = [(str(user_id), name) for user_id, name in people[found.path]]
            found.attrs = {}
    return fields


def _field(schema: dict[str, Any], raw: Raw, errors: dict[str, list[str]], path: str, key: str,
           required: bool, label: str | None = None) -> Field:
    kind = widget(schema, required)
    found = Field(kind=kind, path=path, label=label or str(schema.get("title") or key),
                  help=str(schema.get("description") or ""), required=required, errors=errors.get(path, []))
    name = PREFIX + path
    if kind == "group":
        found.children = [_field(sub, raw, errors, join(path, sub_key), sub_key, sub_required)
                          for sub_key, sub, sub_required in properties(schema)]
    elif kind == "rows":
        item = schema.get("items") or {}
        count = row_count(raw, path) if ROWS + path in raw else 1
        found.children = [_field(item, raw, errors, join(path, i), str(i), True,
                                 label=_("%(what)s, rad %(number)d", what=found.label, number=i + 1))
                          for i in range(count)]
        found.attrs["count"] = count
    elif kind == "checkboxes":
        found.options = [(_as_text(v), title) for v, title in choices(schema.get("items") or {})]
        found.value = raw.getlist(name)
    else:
        if kind == "lines":
            found.help = " ".join(filter(None, [found.help, _("Skriv en per rad.")]))
        found.options = [(_as_text(v), title) for v, title in choices(schema)]
        found.value = raw.get(name, "")
        found.attrs = _attributes(schema, kind)
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _attributes(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    """HTML attributes that tell the browser and assistive technology the field's limits."""
    attrs: dict[str, Any] = {}
    if kind in ("text", "textarea"):
        if "maxLength" in schema:
            attrs["maxlength"] = schema["maxLength"]
        if "minLength" in schema:
            attrs["minlength"] = schema["minLength"]
    if kind in ("integer", "number"):
        attrs["inputmode"] = "numeric" if main_type(schema) == "integer" else "decimal"
    return attrs


def summary(fields: list[Field], errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(label, message, field id) of every error, in form order; errors no field shows come last,
    pointing at the form itself."""
    shown: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def walk(items: list[Field]) -> None:
        for item in items:
            if item.errors:
                seen.add(item.path)
                shown.extend((item.label, message, item.id) for message in item.errors)
            walk(item.children)

    walk(fields)
    for path, messages in errors.items():
        if path not in seen:
            shown.extend((path or _("Formuläret"), message, "task-form") for message in messages)
    return shown

