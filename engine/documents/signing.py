"""Signing a decision: re-authenticated, rendered as PDF, and recorded in the same step as the task.

The rektor — or a delegate, under the engine's own rules (tasks.complete_task: a written delegation in
force for the kind of decision; never for the decisions Skollagen 3:9 keeps with the rektor) — signs a
decision task. The document, its SHA-256, the signer, the delegation relied on and both times go into
`decision_records` in the transaction that completes the task, and the hash into the step's
`decision_signed` audit event, so `verify_document` can check the stored bytes against both.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import select

from ..errors import NotFoundError, PermissionDeniedError, WorkflowError
from ..oversight import visibility
from ..routines.specs import ParsedVersion
from ..runtime.tasks import Completed, StepContext, run_step
from ..storage import state
from ..storage.dbapi import Sql, Tx
from ..storage.models import AuditEvent, DecisionRecord
from ..views import taskview
from ..work import assignment
from . import document_sections
from . import pdf as documents

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: How recently the signer must have given their password again (the web layer asks for it).
REAUTH_MAX_AGE = timedelta(minutes=5)
#: How far in the future a re-authentication time may lie (clocks of several web workers differ a little).
CLOCK_SKEW = timedelta(minutes=1)

NAME = Sql("SELECT name FROM users WHERE id = :id")
UNIT = Sql("SELECT name, postal_address FROM school_units WHERE id = :id")
PUPIL = Sql("SELECT given_name, family_name FROM pupils WHERE id = :id")
HEAD = Sql("""SELECT o.name, u.name, u.postal_address, c.diary_number, p.class_name, p.birth_date,
    p.protected_identity FROM cases c JOIN school_units u ON u.id = c.unit_id
    LEFT JOIN organisers o ON o.id = u.organiser_id LEFT JOIN pupils p ON p.id = c.pupil_id
    WHERE c.id = :id""")
DELEGATION = Sql("SELECT document, valid_from FROM delegations WHERE id = :id")
INSERT_RECORD = Sql("""INSERT INTO decision_records (case_id, task_id, decision, signer_id, delegation_id,
    signed_at, document_sha256, document, reauthenticated_at) VALUES (:case_id, :task_id, :decision,
    :signer_id, :delegation_id, :signed_at, :sha, :document, :reauth) RETURNING id""")


@dataclass(frozen=True)
class SignedDecision:
    """A signed decision: its record, the document's hash, and where the case stands now."""

    decision_id: int
    decision: str
    document_sha256: str
    delegation_id: int | None
    signed_at: datetime
    completed: Completed


def _require_recent(reauthenticated_at: datetime, now: datetime) -> None:
    if reauthenticated_at.tzinfo is None:
        raise ValueError("reauthenticated_at must be an aware datetime")
    if not now - REAUTH_MAX_AGE <= reauthenticated_at <= now + CLOCK_SKEW:
        raise PermissionDeniedError("signing a decision needs your password again: confirm it and sign "
                                    f"within {int(REAUTH_MAX_AGE.total_seconds() // 60)} minutes")


def _delegation_ref(tx: Tx, delegation_id: int | None) -> str | None:
    if delegation_id is None:
        return None
    document, valid_from = tx.first(DELEGATION, {"id": delegation_id})
    since = tx.read_time(valid_from)
    return f"nr {delegation_id}, {document}" + (f", gällande från {since:%Y-%m-%d}" if since else "")


def sign_decision(engine: Engine, task_id: UUID | str, data: dict[str, Any], *, by: int,
                  reauthenticated_at: datetime, now: datetime | None = None,
                  expected_row_version: int | None = None) -> SignedDecision:
    """Sign a decision task: complete it with `data` and record the decision document, all or nothing.

    Algorithm:
    1. Refuse (PermissionDeniedError, nothing read or written) unless the signer re-authenticated within
       REAUTH_MAX_AGE of `now` (default: the current time).
    2. Complete the task through tasks.run_step (complete_task refuses decisions), which locks the task
       and case rows, checks the signer's right (rektor; a delegate only under a written delegation in
       force; nobody but the rektor for a non-delegable decision), validates `data` against the form
       and runs the step.
    3. Inside that step's transaction (the `within` hook): refuse a task that is no decision; check the
       re-authentication again against the step's own clock; render the PDF from the task's data (the
       case's data merged with `data`) with the step's time as signing time; insert the decision record;
       delete the task's drafts; add the document's hash to the `decision_signed` audit event.
    4. Any failure in 2 or 3 — or later in the step — rolls everything back: no completion, no record.
    """
    _require_recent(reauthenticated_at, now or datetime.now(timezone.utc))
    made: dict[str, Any] = {}

    def record(tx: Tx, step: StepContext) -> None:
        if step.decision is None:
            raise WorkflowError(f"{step.name!r} is no decision; complete it as an ordinary task",
                                element_id=step.bpmn_id)
        _require_recent(reauthenticated_at, step.now)
        document = _render(tx, step.decision, step.task_data, step.data, case_id=step.case_id,
                           unit_id=step.unit_id, pupil_id=step.pupil_id, signer_id=step.by,
                           delegation_id=step.delegation_id, at=step.now,
                           parsed=engine.specs.get(step.version_id) if step.version_id else None)
        sha = hashlib.sha256(document).hexdigest()
        made["id"] = tx.scalar(INSERT_RECORD, {
            "case_id": step.case_id, "task_id": tx.uuid(step.task_id), "decision": step.decision,
            "signer_id": step.by, "delegation_id": step.delegation_id, "signed_at": tx.time(step.now),
            "sha": sha, "document": document, "reauth": tx.time(reauthenticated_at)})
        step.audit_data.update(document_sha256=sha, decision_record_id=made["id"])
        made.update(decision=step.decision, sha=sha, delegation_id=step.delegation_id, at=step.now)

    completed = run_step(engine, task_id, data, by=by, expected_row_version=expected_row_version,
                         within=record, signing=True)
    return SignedDecision(made["id"], made["decision"], made["sha"], made["delegation_id"], made["at"],
                          completed)


TASK_OF_CASE = Sql("""SELECT c.id, c.state, c.serializer_version, c.process_version_id, t.bpmn_id, t.state,
    t.pupil_id, t.unit_id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE t.id = :id""")


def preview_decision(engine: Engine, task_id: UUID | str, data: dict[str, Any], *,
                     by: int) -> tuple[str, bytes]:
    """The decision document as signing it now with `data` would make it, marked as a draft; nothing is
    stored or completed. Only for someone who may complete the task (PermissionDeniedError otherwise;
    WorkflowError for a task that is no open decision). Returns (file name, PDF bytes). The document
    names the pupil, so it is a look at the case: logged as "preview_document" (refused or not)."""
    rights = taskview.rights(engine, by, task_id)
    visibility.log_access(engine, by, rights.case_id, "preview_document", f"task {task_id}")
    if not rights.may_complete:
        raise PermissionDeniedError(f"user {by} may not work on task {task_id}")
    now = datetime.now(timezone.utc)
    with engine.db.snapshot() as tx:
        case_id, raw, version, version_id, bpmn_id, task_state, pupil_id, unit_id = tx.first(
            TASK_OF_CASE, {"id": tx.uuid(UUID(str(task_id)))})
        parsed = engine.specs.get(version_id)
        meta = parsed.user_tasks().get(bpmn_id)
        if meta is None or not meta.decision or task_state != "ready":
            raise WorkflowError(f"{rights.name!r} is no open decision", element_id=bpmn_id)
        workflow = state.load(raw, version, parsed.spec, parsed.subprocess_specs, engine.script_engine)
        content = {**workflow.get_task_from_id(UUID(str(task_id))).data, **data}
        delegation = None if "rektor" in rights.held else \
            assignment.active_delegation(tx, unit_id, by, meta.decision, now)
        document = _render(tx, meta.decision, content, data, case_id=case_id, unit_id=unit_id,
                           pupil_id=pupil_id, signer_id=by, delegation_id=delegation, at=now, draft=True,
                           parsed=parsed)
    return "utkast-" + _filename(meta.decision, case_id, now), document


def _render(tx: Tx, decision: str, task_data: dict[str, Any], submitted: dict[str, Any], *, case_id: int,
            unit_id: int, pupil_id: int | None, signer_id: int, delegation_id: int | None, at: datetime,
            draft: bool = False, parsed: ParsedVersion | None = None) -> bytes:
    """The decision document from the task's data, for signing and for its preview alike: without what
    the medical part wrote and has not released (OSL 25:1; what the signer submits now is theirs), with
    the follow-up owner's name, the unit's name and address and the pupil's name; and with the sections
    the case's version declares for the kind (engine/documents/document_sections.py)."""
    content = dict(task_data)
    for key in visibility.unreleased_medical_keys(tx, case_id) - set(submitted):
        content.pop(key, None)
    follower = content.get("uppfoljning_ansvarig")
    if isinstance(follower, int) and not isinstance(follower, bool):
        content["uppfoljning_ansvarig_namn"] = tx.scalar(NAME, {"id": follower})
    unit_name, unit_address = tx.first(UNIT, {"id": unit_id}) or (None, None)
    return documents.render_decision(
        decision, content, signer_name=tx.scalar(NAME, {"id": signer_id}),
        delegation_ref=_delegation_ref(tx, delegation_id), signed_at=at, unit_name=unit_name or "",
        pupil_name=_pupil_name(tx, pupil_id), draft=draft, case_id=case_id, unit_address=unit_address,
        own=document_sections.of_version(parsed, decision, content) if parsed else (None, "", ()),
        letterhead=letterhead(tx, case_id))


def case_letterhead(engine: Engine, case_id: int) -> documents.Letterhead:
    """A case's letterhead as its documents print it (see `letterhead`); no access check: it is for
    rendering a document the caller may already see, and for reproducing a signed one's bytes."""
    with engine.db.snapshot() as tx:
        return letterhead(tx, case_id)


def letterhead(tx: Tx, case_id: int) -> documents.Letterhead:
    """The organiser, the unit and its address, the diarienummer, and the pupil's class and birth date
    (neither for a pupil with a protected identity) of a case, for its documents."""
    row = tx.first(HEAD, {"id": case_id})
    if row is None:
        return documents.Letterhead()
    organiser, unit, address, diary_number, class_name, born, protected = row
    born = born.isoformat() if hasattr(born, "isoformat") else born
    return documents.Letterhead(organiser, unit, address, diary_number, class_name, born, bool(protected))


def _pupil_name(tx: Tx, pupil_id: int | None) -> str | None:
    """The pupil's name for the document; None for a unit-level case, which has no pupil."""
    if pupil_id is None:
        return None
    given, family = tx.first(PUPIL, {"id": pupil_id})
    return f"{given} {family}"


def _filename(decision: str, case_id: int, signed_at: datetime) -> str:
    local = signed_at.astimezone(documents.STOCKHOLM)
    return f"beslut-{decision.replace('_', '-')}-arende-{case_id}-{local:%Y%m%d}.pdf"


def decision_document(engine: Engine, user_id: int, decision_id: int,
                      case_id: int | None = None) -> tuple[str, bytes]:
    """A signed decision's PDF for download, as (file name, bytes): through the case's need-to-know check,
    logged as "download_document". For a pupil with a protected identity only those who may see the name
    may download it (it prints the name). The file name says nothing about the pupil. With `case_id` (the
    case an address names) a decision of another case is NotVisibleError too."""
    with engine.db.read() as session:
        own_case = session.scalar(select(DecisionRecord.case_id).where(DecisionRecord.id == decision_id))
    visibility.log_access(engine, user_id, own_case, "download_document", f"decision {decision_id}",
                          need_name=True)
    if case_id is not None and own_case != case_id:
        raise visibility.NotVisibleError(f"decision {decision_id} is not one of case {case_id}'s")
    with engine.db.read() as session:
        row = session.execute(select(DecisionRecord.decision, DecisionRecord.signed_at,
                                     DecisionRecord.document).where(DecisionRecord.id == decision_id)).one()
    assert own_case is not None  # a signed decision belongs to a case
    return _filename(row.decision, own_case, row.signed_at), bytes(row.document)


def verify_document(engine: Engine, decision_id: int) -> bool:
    """Whether the stored document still matches its recorded hash, and that hash the one in the
    (hash-chained) audit event of its signing — so editing both bytes and hash in the table shows too."""
    with engine.db.read() as session:
        row = session.get(DecisionRecord, decision_id)
        if row is None:
            raise NotFoundError(f"decision {decision_id} does not exist")
        sha, case_id, task_id, document = row.document_sha256, row.case_id, row.task_id, bytes(row.document)
    if hashlib.sha256(document).hexdigest() != sha:
        return False
    with engine.db.read() as session:
        events = session.scalars(select(AuditEvent.data).where(AuditEvent.case_id == case_id,
                                                               AuditEvent.kind == "decision_signed")
                                 .order_by(AuditEvent.seq)).all()
    signed = [e for e in events if e.get("task_id") == str(task_id)]
    return bool(signed) and signed[-1].get("document_sha256") == sha
