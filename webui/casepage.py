"""A completed task's data as the case page and a decision's basis show it: labelled with its form's titles.

The page itself goes through `engine.oversight.visibility.open_case` (which logs the look and withholds what
the
viewer may not see); the diagram and where the case stands in it come from `engine.views.casediagram`.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _


def readable(forms: dict[str, dict[str, Any]], bpmn_id: str,
             data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A completed task's data as (label, text) pairs in its form's order, labelled with the form's field
    titles (a key the form does not know keeps its own name). `forms`: the version's forms by task
    (`engine.routines.definitions.task_forms`)."""
    if not data:
        return []
    schema = forms.get(bpmn_id) or {}
    properties = schema.get("properties") or {}
    keys = [k for k in properties if k in data] + [k for k in data if k not in properties]
    return [(str(properties.get(k, {}).get("title") or k), _text(properties.get(k, {}), data[k]))
            for k in keys]


def _text(schema: dict[str, Any], value: Any) -> str:
    """One value as text: yes/no, a choice's title, a list one item per line, a row as "title: value"."""
    if isinstance(value, bool):
        return _("Ja") if value else _("Nej")
    if isinstance(value, list):
        item = schema.get("items") or {}
        return "\n".join(_text(item, v) for v in value)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        return "; ".join(f"{properties.get(k, {}).get('title') or k}: {_text(properties.get(k, {}), v)}"
                         for k, v in value.items())
    for branch in schema.get("oneOf") or schema.get("anyOf") or []:
        if isinstance(branch, dict) and branch.get("const") == value and branch.get("title"):
            return str(branch["title"])
    return str(value)
