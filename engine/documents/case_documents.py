"""A case's own documents beside its decisions: the utredning and the åtgärdsprogram, as PDF.

The utredning is what the steps of the investigation recorded — each step a section with who did it and
when, its fields labelled with the form's titles (a colleague named by id printed by name) — under the
letterhead and the parties as the decisions print them. The åtgärdsprogram is the programme as its last
signed programme decision made it (the decision document's own "program" layout, engine/documents/pdf.py,
with the decision's signer and time): it exists once a programme has been decided.

Which steps make up an investigation the routine declares, as a property of its process:
`caseDocument:utredning` = `Title | legal ground | STEP STEP ...` (engine/routines/declared_sections.py,
checked at deploy and publish like a decision's own sections); a routine without it has no utredning
document. A document leaves the
system, so like a decision it never prints what the medical part recorded and has not released (OSL
25:1), whoever downloads it. Downloading one is a look at the case: the need-to-know check and an
access-log row ("download_document"), and for a pupil with a protected identity only for those who may
see the name (`visibility.log_access(need_name=True)`); a case one may not see is NotVisibleError.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..oversight import visibility
from ..routines import definitions
from ..routines.declared_sections import CASE_DOCUMENT, parse
from ..storage.dbapi import Sql, Tx
from . import pdf as documents
from .signing import letterhead

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine
    from ..oversight.visibility import CaseView

KINDS = ("utredning", "atgardsprogram")
INVESTIGATION = CASE_DOCUMENT + "utredning"
PROGRAMME_DECISIONS = documents.PROGRAMME_KINDS - {"program"}

CASE = Sql("""SELECT c.process_key, c.process_version_id, c.pupil_id, p.given_name, p.family_name, u.name,
    u.postal_address FROM cases c JOIN school_units u ON u.id = c.unit_id
    LEFT JOIN pupils p ON p.id = c.pupil_id WHERE c.id = :id""")
DONE = Sql("""SELECT t.bpmn_id, t.name, t.role, t.medical_author, t.completed_at, t.data, us.name,
    (SELECT 1 FROM medical_releases r WHERE r.task_id = t.id) FROM tasks t
    LEFT JOIN users us ON us.id = t.completed_by
    WHERE t.case_id = :id AND t.state = 'completed' ORDER BY t.completed_at, t.id""")
LAST_PROGRAMME = Sql("""SELECT d.decision, d.signed_at, us.name FROM decision_records d
    JOIN users us ON us.id = d.signer_id WHERE d.case_id = :id ORDER BY d.signed_at DESC, d.id DESC""")
USER_NAME = Sql("SELECT name FROM users WHERE id = :id")


def investigation(engine: Engine, version_id: int) -> tuple[str, str, tuple[str, ...]] | None:
    """What a routine version declares its utredning to be: (title, legal ground, its steps in order)."""
    declared = parse(engine.specs.get(version_id).properties)[0].get(INVESTIGATION)
    if declared is None:
        return None
    return declared.title or "", declared.legal_ground, tuple(step for _p, _h, read in declared.sections
                                                              for step, _f in read)


def available(engine: Engine, case: CaseView) -> list[str]:
    """The documents a case has now, from what its viewer was shown: an utredning once a step of its
    declared investigation is done, an åtgardsprogram once a programme decision is signed."""
    found = []
    steps = (investigation(engine, case.process_version_id) or ("", "", ()))[2]
    if any(t.state == "completed" and t.bpmn_id in steps for t in case.tasks):
        found.append("utredning")
    if any(d.decision in PROGRAMME_DECISIONS for d in case.decisions):
        found.append("atgardsprogram")
    return found


def case_document(engine: Engine, user_id: int, case_id: int, kind: str) -> tuple[str, bytes]:
    """The case's `kind` document ("utredning" or "atgardsprogram") as (file name, PDF bytes), checked and
    logged as a download. NotFoundError when the case has no such document (yet)."""
    if kind not in KINDS:
        raise NotFoundError(f"no document {kind!r}; known: {', '.join(KINDS)}")
    visibility.log_access(engine, user_id, case_id, "download_document", f"{kind} of case {case_id}",
                          need_name=True)
    with engine.db.snapshot() as tx:
        key, version_id, pupil_id, given, family, unit, address = tx.first(CASE, {"id": case_id})
        pupil = f"{given} {family}" if pupil_id is not None else None
        head = letterhead(tx, case_id)
        hidden = visibility.unreleased_medical_keys(tx, case_id)
        done = [_Done(*row) for row in tx.all(DONE, {"id": case_id})]
        for step in done:
            step.data = {k: v for k, v in (tx.read_json(step.data) or {}).items() if k not in hidden} \
                if step.data is not None and not (_medical(step) and not step.released) else {}
            step.at = tx.required_time(step.at)  # DONE reads completed tasks
        if kind == "utredning":
            declared = investigation(engine, version_id)
            if declared is None:
                raise NotFoundError(f"a case of {key!r} has no investigation document")
            forms = definitions.task_forms(engine, version_id)
            document, at = _investigation(tx, declared, done, forms, unit, pupil)
        else:
            document, at = _programme(tx, case_id, done, unit, pupil, address)
    document = documents.with_letterhead(document, head, pupil=pupil_id is not None)
    return f"{kind}-arende-{case_id}.pdf", documents.render(document, created_at=at)


class _Done:
    def __init__(self, bpmn_id: str, name: str, role: str | None, medical_author: Any, at: Any, data: Any,
                 by: str | None, released: Any):
        self.bpmn_id, self.name, self.role, self.medical_author = bpmn_id, name, role, bool(medical_author)
        self.at: datetime = at
        self.data: Any = data
        self.by, self.released = by, released is not None


def _medical(step: _Done) -> bool:
    return visibility.is_medical(step.role, step.medical_author)


def _parties(unit: str | None, pupil: str | None) -> documents.Section:
    unit_row = ("Skolenhet", unit or documents.MISSING)
    return documents.Section("Elev och skolenhet", rows=(("Elev", pupil or documents.MISSING), unit_row)) \
        if pupil is not None else documents.Section("Skolenhet", rows=(unit_row,))


def _investigation(tx: Tx, declared: tuple[str, str, tuple[str, ...]], done: list[_Done],
                   forms: dict[str, dict[str, Any]], unit: str | None,
                   pupil: str | None) -> tuple[documents.Document, datetime]:
    title, ground, steps = declared
    latest = {s.bpmn_id: s for s in done if s.bpmn_id in steps}  # a step done again: its last time
    if not latest:
        raise NotFoundError("no step of the investigation is done yet")
    sections = [_parties(unit, pupil)]
    for bpmn_id in steps:
        step = latest.get(bpmn_id)
        if step is None:
            continue
        local = step.at.astimezone(documents.STOCKHOLM)
        rows = [("Gjort av", step.by or documents.MISSING), ("Klart", f"{local:%Y-%m-%d}")]
        if _medical(step) and not step.released:
            paragraphs: tuple[str, ...] = ("Uppgifterna förs av elevhälsans medicinska del och är inte "
                                           "utlämnade.",)
        else:
            paragraphs = ()
            rows += _labelled(tx, forms.get(bpmn_id) or {}, step.data)
        sections.append(documents.Section(step.name, rows=tuple(rows), paragraphs=paragraphs))
    if steps[-1] not in latest:
        sections.insert(0, documents.Section("Utredningen pågår", paragraphs=(
            "Alla steg i utredningen är inte klara: dokumentet visar det som hittills är dokumenterat.",)))
    at = max(s.at for s in latest.values())
    return documents.Document(title, ground, tuple(sections)), at


def _programme(tx: Tx, case_id: int, done: list[_Done], unit: str | None, pupil: str | None,
               address: str | None) -> tuple[documents.Document, datetime]:
    decided = next((row for row in tx.all(LAST_PROGRAMME, {"id": case_id})
                    if row[0] in PROGRAMME_DECISIONS), None)
    if decided is None:
        raise NotFoundError(f"case {case_id} has no decided åtgärdsprogram")
    signed_at = tx.required_time(decided[1])
    data: dict[str, Any] = {}
    for step in done:
        if step.at <= signed_at:
            data.update(step.data)
    follower = data.get("uppfoljning_ansvarig")
    if isinstance(follower, int) and not isinstance(follower, bool):
        data["uppfoljning_ansvarig_namn"] = tx.scalar(USER_NAME, {"id": follower})
    document = documents.decision_content("program", data, signer_name=decided[2], delegation_ref=None,
                                          signed_at=signed_at, unit_name=unit or "", pupil_name=pupil,
                                          case_id=case_id, unit_address=address)
    return document, signed_at


def _labelled(tx: Tx, form: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """A step's answers as (field title, text) in the form's order; a colleague named by id by name."""
    properties = form.get("properties") or {}
    keys = [k for k in properties if k in data] + [k for k in data if k not in properties]
    return [(str(properties.get(k, {}).get("title") or k), _text(tx, properties.get(k, {}), data[k]))
            for k in keys if data[k] not in (None, "", [])]


def _text(tx: Tx, schema: dict[str, Any], value: Any) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, int) and schema.get("type") == "integer" and "maximum" not in schema:
        return tx.scalar(USER_NAME, {"id": value}) or str(value)  # a field naming a colleague
    if isinstance(value, list):
        return "\n".join(_text(tx, schema.get("items") or {}, v) for v in value)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        return "; ".join(f"{properties.get(k, {}).get('title') or k}: {_text(tx, properties.get(k, {}), v)}"
                         for k, v in value.items())
    for branch in schema.get("oneOf") or schema.get("anyOf") or []:
        if isinstance(branch, dict) and branch.get("const") == value and branch.get("title"):
            return str(branch["title"])
    return str(value)
