"""A completed task's data as the case page and a decision's basis show it: labelled with its form's titles.

The page itself goes through `engine.oversight.visibility.open_case` (which logs the look and withholds what
the
viewer may not see); the diagram and where the case stands in it come from `engine.views.casediagram`.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from elevflow.engine.routines import definitions
from elevflow.engine.views import names


def readable(forms: dict[str, dict[str, Any]], bpmn_id: str,
             data: dict[str, Any] | None, people: dict[str, dict[int, str]] | None = None
             ) -> list[tuple[str, str]]:
    """A completed task's data as (label, text) pairs in its form's order, labelled with the form's field
    titles (a key the form does not know keeps its own name). `forms`: the version's forms by task
    (`engine.routines.definitions.task_forms`); `people`: the fields naming a person, each with the names
    of the ids it holds (`Namer`), so a person reads as a name, never as a database id."""
    if not data:
        return []
    schema = forms.get(bpmn_id) or {}
    properties = schema.get("properties") or {}
    keys = [k for k in properties if k in data] + [k for k in data if k not in properties]
    named = people or {}
    return [(str(properties.get(k, {}).get("title") or k),
             _person(named[k], data[k]) if k in named else _text(properties.get(k, {}), data[k]))
            for k in keys]


def _person(names: dict[int, str], value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return names.get(value) or _("Okänd person")
    return str(value)


def people(database: Any, version_id: int, datas: Any) -> dict[str, dict[int, str]]:
    """For `readable`: the version's fields naming a person, each with the names of the people the
    tasks' data (`datas`) name in it."""
    fields = definitions.person_fields(database, version_id)
    ids = {d[f] for d in datas if d for f in fields if isinstance(d.get(f), int)}
    found = names.user_names(database, ids) if ids else {}
    return {f: found for f in fields}


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
