"""jsonschema's validation errors as plain messages a member of staff understands, in their language.

Messages are keyed like the engine's FormValidationError: by the field's dotted path; a missing
required field by its own path (so the message sits beside it).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from jsonschema import ValidationError

from elevflow.engine.routines.formcheck import BLANK

from .schema import join


def translate(validator: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with `data` under the validator's schema: field path -> messages."""
    errors: dict[str, list[str]] = {}
    for error in validator.iter_errors(data):
        base = ".".join(str(p) for p in error.absolute_path)
        for path, message in _messages(error, base):
            found = errors.setdefault(path, [])
            if message not in found:
                found.append(message)
    return errors


def _messages(error: ValidationError, base: str) -> Iterator[tuple[str, str]]:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == BLANK:  # a required text that holds only spaces (engine/routines/formcheck.py)
        yield base, _("Fältet är obligatoriskt. Bara mellanslag räcker inte.")
        return
    if kind == "required":
        for name in expected:
            if isinstance(value, dict) and name not in value:
                yield join(base, name), _("Fältet är obligatoriskt.")
        return
    if kind == "additionalProperties":
        known = set(error.schema.get("properties") or {})
        extra = sorted(set(value) - known) if isinstance(value, dict) else []
        yield base, _("Formuläret innehåller fält som inte hör till det: %(names)s.", names=", ".join(extra))
        return
    yield base, message(str(kind), expected, value)


def date_message(rule: str, reference: str, other: str, title: str) -> str:
    """A date out of the order its form declares (elevflow.engine.routines.formcheck.DateProblem)."""
    if reference == "today":
        return {"dateAfter": _("Datumet måste vara efter i dag (%(date)s).", date=other),
                "dateNotBefore": _("Datumet får inte vara före i dag (%(date)s).", date=other),
                "dateBefore": _("Datumet måste vara före i dag (%(date)s).", date=other),
                "dateNotAfter": _("Datumet får inte vara senare än i dag (%(date)s).", date=other)}[rule]
    return {"dateAfter": _("Datumet måste vara efter %(what)s (%(date)s).", what=title, date=other),
            "dateNotBefore": _("Datumet får inte vara före %(what)s (%(date)s).", what=title, date=other),
            "dateBefore": _("Datumet måste vara före %(what)s (%(date)s).", what=title, date=other),
            "dateNotAfter": _("Datumet får inte vara senare än %(what)s (%(date)s).", what=title,
                              date=other)}[rule]


def message(kind: str, expected: Any, value: Any) -> str:
    """The message for one failed keyword (`expected` is the keyword's value in the schema)."""
    if kind == "type":
        return _type_message(expected if isinstance(expected, str) else next(iter(expected), ""))
    if kind in ("enum", "const", "oneOf", "anyOf"):
        return _("Välj ett av alternativen.")
    if kind == "minLength":
        return ngettext("Skriv minst %(num)d tecken.", "Skriv minst %(num)d tecken.", expected)
    if kind == "maxLength":
        now = len(value) if isinstance(value, str) else "?"
        return ngettext("Skriv högst %(num)d tecken (nu %(now)s).",
                        "Skriv högst %(num)d tecken (nu %(now)s).", expected, now=now)
    if kind == "format":
        return _format_message(str(expected))
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return {"minimum": _("Värdet måste vara minst %(limit)s.", limit=expected),
                "maximum": _("Värdet får vara högst %(limit)s.", limit=expected),
                "exclusiveMinimum": _("Värdet måste vara större än %(limit)s.", limit=expected),
                "exclusiveMaximum": _("Värdet måste vara mindre än %(limit)s.", limit=expected)}[kind]
    if kind == "minItems":
        return ngettext("Fyll i eller välj minst %(num)d.", "Fyll i eller välj minst %(num)d.", expected)
    if kind == "maxItems":
        return ngettext("Fyll i eller välj högst %(num)d.", "Fyll i eller välj högst %(num)d.", expected)
    if kind == "uniqueItems":
        return _("Samma värde får bara finnas med en gång.")
    if kind == "pattern":
        return _("Värdet är inte skrivet på rätt sätt; se förklaringen vid fältet.")
    if kind == "not":  # e.g. a de-identified text refusing a personnummer (processes/avvikelse)
        return _("Texten innehåller något som inte får stå här, till exempel ett personnummer; se "
                 "förklaringen vid fältet.")
    return _("Värdet är inte giltigt.")


def _type_message(expected: str) -> str:
    return {
        "integer": _("Skriv ett heltal, till exempel 3."),
        "number": _("Skriv ett tal, till exempel 2,5."),
        "string": _("Skriv en text."),
        "boolean": _("Välj ja eller nej."),
        "array": _("Fyll i eller välj ett eller flera värden."),
        "object": _("Fyll i fälten i gruppen."),
    }.get(expected, _("Värdet är inte giltigt."))


def _format_message(expected: str) -> str:
    return {
        "date": _("Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2025-03-14."),
        "date-time": _("Ange både datum och klockslag."),
        "email": _("Skriv en e-postadress, till exempel namn@skola.se."),
    }.get(expected, _("Värdet är inte skrivet på rätt sätt."))
