"""The sections a routine declares for its decision documents (engine/routines/declared_sections.py),
with a case's answers: one row per field (its title in the step's form, the answer with its choice's
title; a list of items prints as a table, its columns the items' fields), for engine/documents/pdf.py.
"""
from __future__ import annotations

from typing import Any

from ..routines.declared_sections import Declared, parse
from ..routines.quality_measures import form_fields
from ..routines.specs import ParsedVersion, TaskMeta
from .pdf import MISSING, Section


def _text(value: Any, schema: dict[str, Any]) -> str:
    if value is None or value == "" or value == []:
        return MISSING
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, list):
        return ", ".join(_text(v, schema.get("items") or {}) for v in value)
    choices = {c.get("const"): c.get("title") for c in schema.get("oneOf", []) if isinstance(c, dict)}
    return str(choices.get(value) or value)


def sections(declared: Declared, data: dict[str, Any], tasks: dict[str, TaskMeta],
             forms: dict[str, Any]) -> tuple[Section, ...]:
    """The declared sections with the case's answers: a row per field, a table for a list of items."""
    found = []
    for _, heading, read in declared.sections:
        rows: list[tuple[str, str]] = []
        table: tuple[tuple[str, ...], ...] = ()
        for step, name in read:
            task = tasks.get(step)
            schema = form_fields(forms.get(task.form or "") if task else None).get(name, {})
            value = data.get(name)
            items = form_fields(schema.get("items")) if schema.get("type") == "array" else {}
            if items:
                columns = list(items)
                table = (tuple(str(items[c].get("title") or c) for c in columns),
                         *[tuple(_text(item.get(c), items[c]) for c in columns)
                           for item in value or [] if isinstance(item, dict)])
                if len(table) == 1:
                    table = (*table, tuple(MISSING for _ in columns))
            else:
                rows.append((str(schema.get("title") or name), _text(value, schema)))
        found.append(Section(heading, rows=tuple(rows), table=table))
    return tuple(found)


def of_version(parsed: ParsedVersion, kind: str, data: dict[str, Any]) -> tuple[str | None, str,
                                                                              tuple[Section, ...]]:
    """The title, legal ground and sections a version declares for a kind of decision, with the case's
    answers: what engine/documents/pdf.py's `own` takes (nothing declared: (None, "", ()))."""
    declared = parse(parsed.properties)[0].get(kind)
    if declared is None:
        return None, "", ()
    return declared.title, declared.legal_ground, sections(declared, data, parsed.user_tasks(), parsed.forms)
