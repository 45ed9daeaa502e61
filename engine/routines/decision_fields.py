"""The form fields Elevflow's own decision documents print, per kind of decision: routine data that
engine/documents/pdf.py lays out and that a routine recording such a decision must collect.

A decision task says which kind of decision it records (its `decision` property). For the kinds
Elevflow has a document of its own for (an åtgärdsprogram and its special forms, a decision not to
draw one up, one to end it, the dismissal of a late appeal), the document prints the fields below:
the law's required parts (3 kap. 9 § skollagen, 32 § förvaltningslagen, 1 kap. 10 § skollagen). `check`
refuses a new version of a routine that records such a decision when its forms no longer collect a
field the document prints and the version before did: a field renamed or removed in the editor is
refused at publish, naming the decision task, the kind and the fields, instead of the signed decision
silently printing "—" where the law asks for a part. (A routine's first version is not held to the
list: an organiser's own routine may record an åtgärdsprogram with fewer fields, and its document then
prints "—" for what it does not collect.) A routine that wants a document of another shape records a
kind of its own and declares its document (`document:KIND`, `section:KIND:N`; declared_sections.py).

tests/test_decision_fields.py holds pdf.py to this table: what the layouts read is what is listed here.
"""
from __future__ import annotations

from typing import Any

from ..codes import Coded
from .quality_measures import form_fields
from .specs import TaskMeta

#: The pupil's view and the best-interest assessment: every decision about the pupil prints them.
PUPILS_VIEW = ("elevens_asikt_hur", "elevens_asikt", "barnets_basta")
#: The programme itself: what 3 kap. 9 § and Skolverket's general advice ask an åtgärdsprogram to hold.
PROGRAMME = ("utredning_avslutad_datum", "ap_utredning_referens", "bedomning_sarskilt_stod", "ap_behov",
             "ap_atgarder", "uppfoljning_datum", "uppfoljning_ansvarig", "ap_ansvarig_beskrivning",
             "delaktighet_erbjuden_datum", "delaktighet_satt", "elevens_synpunkter",
             "vardnadshavarnas_synpunkter")
#: A special form of support (3 kap. 11–12 §§): its extent and the particular reasons for it.
SPECIAL_FORM = ("sarskild_form_omfattning", "sarskild_form_sarskilda_skal")

#: Per kind: (the decision's date, its reasons, the other fields its document prints).
BUILT_IN: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "atgardsprogram": ("beslut_ap_datum", "beslut_ap_motivering",
                       (*PROGRAMME, "sarskild_form", *PUPILS_VIEW)),
    **{kind: ("beslut_ap_datum", "beslut_ap_motivering", (*PROGRAMME, *SPECIAL_FORM, *extra, *PUPILS_VIEW))
       for kind, extra in (("sarskild_undervisningsgrupp", ()), ("enskild_undervisning", ()),
                           ("anpassad_studiegang", ()),
                           ("distansundervisning", ("distans_medgivande", "distans_medgivande_datum")))},
    "ej_atgardsprogram": ("beslut_ej_datum", "beslut_ej_motivering", (
        "utredning_avslutad_datum", "bedomning_sarskilt_stod", "beslut_ej_avvikelse_skal",
        "beslut_ej_behov_tillgodoses", *PUPILS_VIEW)),
    "avslut_atgardsprogram": ("beslut_avslut_datum", "beslut_avslut_motivering", (
        "beslut_ap_datum", "utvardering_datum", "utvardering_slutsats", "bedomning_uppdaterad_datum",
        "bedomning_uppdaterad", "avslut_anledning", "avslut_fortsatta_anpassningar", *PUPILS_VIEW)),
    "avvisning_overklagande": ("avvisning_datum", "avvisning_motivering", ("overklagande_inkom_datum",)),
}
#: A kind without a document of its own prints its reasons from the field `beslut` (pdf.py).
OTHER_DATE, OTHER_REASON = "beslut_ap_datum", "beslut_ap_motivering"


def date_key(kind: str) -> str:
    return BUILT_IN[kind][0] if kind in BUILT_IN else OTHER_DATE


def reason_key(kind: str) -> str:
    return BUILT_IN[kind][1] if kind in BUILT_IN else OTHER_REASON


def printed(kind: str) -> tuple[str, ...]:
    """Every field the kind's own document prints (none for a kind Elevflow has no document for)."""
    if kind not in BUILT_IN:
        return ()
    date, reason, rest = BUILT_IN[kind]
    return (date, reason, *rest)


def _fields(schema: Any) -> set[str]:
    """A form's fields, also those that appear only under a condition (allOf/if-then-else, oneOf...)."""
    if not isinstance(schema, dict):
        return set()
    found = set(form_fields(schema))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            found |= _fields(part)
    for key in ("if", "then", "else"):
        found |= _fields(schema.get(key))
    for part in (schema.get("dependentSchemas") or {}).values():
        found |= _fields(part)
    return found


def collected(tasks: dict[str, TaskMeta], forms: dict[str, Any]) -> frozenset[str]:
    """Every field the forms of a routine's steps collect."""
    found: set[str] = set()
    for task in tasks.values():
        found |= _fields(forms.get(task.form or ""))
    return frozenset(found)


def check(tasks: dict[str, TaskMeta], forms: dict[str, Any], before: frozenset[str]) -> list[
        tuple[str, Coded]]:
    """(decision task id, why) for each decision task whose document prints fields that the routine's
    previous version collected (`before`) and this one no longer does: renamed or removed."""
    now = collected(tasks, forms)
    problems = []
    for step, task in sorted(tasks.items()):
        lost = [name for name in printed(task.decision or "") if name in before and name not in now]
        if lost:
            problems.append((step, Coded("decision.document_field", {"kind": task.decision, "fields": lost})))
    return problems
