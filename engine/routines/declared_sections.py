"""The decision documents' sections a routine declares in its diagram (docs/processes.md, "A decision
document's own sections"), beside the quality figures (quality_measures.py) and the same way: properties
of its process.

- `document:KIND`: `Title | legal ground` of the document of decision KIND (the `decision` a decision
  task records), for a kind Elevflow has no document of its own for;
- `section:KIND:N`: `Heading: STEP.FIELD ...`, the N-th section the routine adds to that document;
- `caseDocument:KIND`: `Title | legal ground | STEP STEP ...`, a document of the case itself (not of a
  decision) made of what those steps recorded, in that order: the utredning
  (engine/documents/case_documents.py). It is kept under the key `caseDocument:KIND`.

`parse` reads them and `check` refuses a section naming a step, a field or a kind the routine does not
have (a step renamed in the editor is refused at publish, naming the section and the step). What they
print is engine/documents/document_sections.py's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..codes import Coded
from .quality_measures import form_fields
from .specs import TaskMeta


@dataclass(frozen=True)
class Declared:
    """A routine's own part of one kind's document: its title and legal ground (or None for Elevflow's
    own) and its sections: (property, heading, ((step, field), ...))."""

    title: str | None = None
    legal_ground: str = ""
    sections: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()


CASE_DOCUMENT = "caseDocument:"


def declares(name: str) -> bool:
    return name.startswith(("document:", "section:", CASE_DOCUMENT))


def _case_document(name: str, value: str) -> Declared | None:
    """`caseDocument:KIND` = `Title | legal ground | STEP ...` as a Declared whose one section lists the
    steps (each with an empty field); None when it is not in that form."""
    parts = [part.strip() for part in value.split("|")]
    steps = tuple(parts[2].split()) if len(parts) == 3 else ()
    if not name[len(CASE_DOCUMENT):] or len(parts) != 3 or not parts[0] or not steps:
        return None
    return Declared(parts[0], parts[1], ((name, parts[0], tuple((step, "") for step in steps)),))


def parse(properties: dict[str, str]) -> tuple[dict[str, Declared], list[tuple[str, Coded]]]:
    """Per decision kind, what the routine declares for its document; and (property, why) for what is
    not in the form above."""
    titles: dict[str, tuple[str | None, str]] = {}
    sections: dict[str, list[tuple[int, str, str, tuple[tuple[str, str], ...]]]] = {}
    problems = []
    own: dict[str, Declared] = {}
    for name, value in properties.items():
        if not declares(name):
            continue
        if name.startswith(CASE_DOCUMENT):
            if (document := _case_document(name, value)) is None:
                problems.append((name, Coded("decl.case_document_form")))
            else:
                own[name] = document
            continue
        parts = name.split(":")
        if parts[0] == "document" and len(parts) == 2 and parts[1]:
            heading, _, ground = value.partition("|")
            titles[parts[1]] = (heading.strip(), ground.strip())
            continue
        heading, colon, fields = value.partition(":")
        read = [tuple(item.split(".", 1)) for item in fields.split()]
        if (len(parts) != 3 or not parts[1] or not parts[2].isdigit() or not colon or not heading.strip()
                or not read or any(len(r) != 2 or not all(r) for r in read)):
            problems.append((name, Coded("decl.section_form")))
            continue
        sections.setdefault(parts[1], []).append(
            (int(parts[2]), name, heading.strip(), tuple(read)))  # type: ignore[arg-type]
    found = {}
    for kind in sorted({*titles, *sections}):
        title, ground = titles.get(kind, (None, ""))
        ordered = sorted(sections.get(kind, []))
        found[kind] = Declared(title, ground, tuple((p, h, r) for _, p, h, r in ordered))
    return {**found, **own}, problems


def check(declared: dict[str, Declared], tasks: dict[str, TaskMeta], forms: dict[str, Any]) -> list[
        tuple[str, Coded]]:
    """What the sections name that the routine does not have: (property, why)."""
    kinds = {t.decision for t in tasks.values() if t.decision}
    known = sorted(k for k in kinds if k) or Coded("what.none")
    problems: list[tuple[str, Coded]] = []
    for kind, document in declared.items():
        if kind.startswith(CASE_DOCUMENT):
            missing = [step for _prop, _title, read in document.sections for step, _ in read
                       if step not in tasks]
            problems += [(kind, Coded("decl.case_document_step", {"document": kind[len(CASE_DOCUMENT):],
                                                                   "step": step})) for step in missing]
            continue
        if kind not in kinds:
            problems.append((f"document:{kind}" if document.title is not None else document.sections[0][0],
                             Coded("decl.document_kind", {"kind": kind, "kinds": known})))
        for prop, heading, read in document.sections:
            for step, field in read:
                task = tasks.get(step)
                where = {"heading": heading, "kind": kind, "step": step}
                if task is None:
                    problems.append((prop, Coded("decl.section_step", where)))
                elif field not in form_fields(forms.get(task.form or "")):
                    problems.append((prop, Coded("decl.section_field", {
                        **where, "field": field, "form": task.form or Coded("what.no_form")})))
    return problems
