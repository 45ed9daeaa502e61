"""Signing decisions: re-authentication, the document recorded in the step's own transaction, delegation
rules, download through need-to-know, and integrity."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from bpmn_builder import process
from click.testing import CliRunner
from conftest import REPORT
from routine_walks import document_text
from sqlalchemy import func, select, update

from elevflow.cli import main
from elevflow.engine import (
    FormValidationError,
    NotVisibleError,
    PermissionDeniedError,
    SigningRequiredError,
    WorkflowError,
    case_data,
    complete_task,
    decision_document,
    deploy,
    get_task,
    list_tasks,
    load_draft,
    open_case,
    render_decision,
    save_draft,
    sign_decision,
    start_case,
    verify_audit,
    verify_document,
)
from elevflow.engine.documents.signing import REAUTH_MAX_AGE, case_letterhead
from elevflow.engine.org import passwords
from elevflow.engine.org import records as org
from elevflow.engine.runtime import runner as engine_runner
from elevflow.engine.storage.models import (
    AccessLogEntry,
    AuditEvent,
    DecisionRecord,
    LoginAttempt,
    Pupil,
    SchoolUnit,
)
from elevflow.engine.work.assignment import grant_delegation, reassign, revoke_delegation

DECISION = {"beslut": "atgardsprogram", "motivering": "Utredningen visar behov av särskilt stöd."}


def now() -> datetime:
    return datetime.now(timezone.utc)


def ready(engine, case_id):
    return list_tasks(engine, case_id=case_id, state="ready")


@pytest.fixture
def decision_task(engine, people, chain):
    """The stodkedja case at its decision task (Rektor lane, decision `atgardsprogram`)."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, {"behov": "ja", "bedomning": "Behov finns."},
                  by=people.specialpedagog)
    [task] = ready(engine, case.id)
    assert task.bpmn_id == "Task_beslut"
    return task


def records(engine):
    with engine.db.read() as s:
        return list(s.scalars(select(DecisionRecord).order_by(DecisionRecord.id)))


def audit_count(engine):
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def nothing_written(engine, task, audit_before):
    assert (get_task(engine, task.id).state == "ready" and records(engine) == []
            and audit_count(engine) == audit_before)


@pytest.mark.parametrize("reauth, error", [
    (lambda: now() - REAUTH_MAX_AGE - timedelta(seconds=1), PermissionDeniedError),
    (lambda: now() - timedelta(days=1), PermissionDeniedError),
    (lambda: now() + timedelta(minutes=5), PermissionDeniedError),
    (lambda: datetime.now(), ValueError),  # naive
])
def test_without_a_recent_reauthentication_nothing_is_signed(engine, people, decision_task, reauth, error):
    before = audit_count(engine)
    with pytest.raises(error):
        sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=reauth())
    nothing_written(engine, decision_task, before)


def test_the_rektor_signs_the_task_completes_and_the_decision_is_recorded_in_the_same_step(engine, people,
                                                                                          decision_task):
    save_draft(engine, decision_task.id, people.rektor, {"motivering": "utkast"})
    reauth = now() - timedelta(minutes=1)
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=reauth)
    assert get_task(engine,
                    decision_task.id).state == "completed" and signed.completed.case_status == "completed"
    [record] = records(engine)
    assert (record.id, record.case_id, record.task_id, record.decision) == (
        signed.decision_id, decision_task.case_id, decision_task.id, "atgardsprogram")
    assert (record.signer_id, record.delegation_id) == (people.rektor, None)
    assert record.document_sha256 == hashlib.sha256(record.document).hexdigest() == signed.document_sha256
    assert record.reauthenticated_at == reauth and record.signed_at == signed.signed_at
    assert record.document.startswith(b"%PDF-")
    assert load_draft(engine, decision_task.id, people.rektor) is None
    with engine.db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.kind == "decision_signed")).all()
    assert event.data["document_sha256"] == record.document_sha256
    assert event.data["signer_id"] == people.rektor
    assert verify_document(engine, record.id) and verify_audit(engine).ok
    # the hash is reproducible from the same input
    again = render_decision("atgardsprogram", case_data(engine, decision_task.case_id), signer_name="Rektor",
                            delegation_ref=None, signed_at=record.signed_at, unit_name="Ekskolan",
                            pupil_name="Alva Andersson", case_id=decision_task.case_id,
                            unit_address="Box 12, 123 45 Exempelby",
                            letterhead=case_letterhead(engine, decision_task.case_id))
    assert hashlib.sha256(again).hexdigest() == record.document_sha256


def test_invalid_form_data_leaves_neither_completion_nor_record(engine, people, decision_task):
    before = audit_count(engine)
    with pytest.raises(FormValidationError):
        sign_decision(engine, decision_task.id, {"beslut": "kanske"}, by=people.rektor,
                      reauthenticated_at=now())
    nothing_written(engine, decision_task, before)


def test_a_failure_after_the_record_was_written_undoes_it(engine, people, decision_task, monkeypatch):
    before = audit_count(engine)

    def broken(self, *args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(engine_runner.Run, "finish", broken)
    with pytest.raises(RuntimeError):
        sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    monkeypatch.undo()
    nothing_written(engine, decision_task, before)
    sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    assert len(records(engine)) == 1


def test_a_task_that_is_no_decision_cannot_be_signed(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [task] = ready(engine, case.id)
    before = audit_count(engine)
    with pytest.raises(WorkflowError, match="no decision"):
        sign_decision(engine, task.id, REPORT, by=people.teacher, reauthenticated_at=now())
    nothing_written(engine, task, before)


def test_a_delegate_signs_under_a_written_delegation_and_only_then(engine, people, decision_task):
    other = grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                             decision="ej_atgardsprogram", document="Delegationsordning 2026 p. 5",
                             by=people.rektor)
    with pytest.raises(PermissionDeniedError, match="no written delegation for 'atgardsprogram'"):
        reassign(engine, decision_task.id, to=people.specialpedagog, by=people.rektor,
                 reason="Delegerat beslut")
    first = grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                             decision="atgardsprogram", document="Delegationsordning 2026 p. 4",
                             by=people.rektor)
    reassign(engine, decision_task.id, to=people.specialpedagog, by=people.rektor, reason="Delegerat beslut")
    revoke_delegation(engine, first, by=people.rektor)
    before = audit_count(engine)
    with pytest.raises(PermissionDeniedError, match="no written delegation in force for 'atgardsprogram'"):
        sign_decision(engine, decision_task.id, DECISION, by=people.specialpedagog, reauthenticated_at=now())
    nothing_written(engine, decision_task, before)
    delegation = grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                                  decision="atgardsprogram", document="Delegationsordning 2026 p. 4",
                                  by=people.rektor)
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.specialpedagog,
                           reauthenticated_at=now())
    assert signed.delegation_id == delegation != other
    [record] = records(engine)
    assert (record.signer_id, record.delegation_id) == (people.specialpedagog, delegation)


NON_DELEGABLE = """<bpmn:userTask id="Task_1" name="Besluta om särskild undervisningsgrupp">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="beslut.json"/>
        <spiffworkflow:property name="decision" value="sarskild_undervisningsgrupp"/>
        <spiffworkflow:property name="nonDelegable" value="true"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""


def test_a_non_delegable_decision_is_refused_to_a_delegate_and_signed_by_the_rektor(engine, people):
    form = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "properties": {"beslut_ap_motivering": {"type": "string"}}}
    deploy(engine, {"g.bpmn": process(NON_DELEGABLE, lane="Rektor", key="grupp")}, {"beslut.json": form})
    case = start_case(engine, "grupp", pupil_id=people.pupil, by=people.rektor)
    [task] = ready(engine, case.id)
    grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                     decision="atgardsprogram",
                     document="Delegationsordning 2026 p. 4", by=people.rektor)
    with pytest.raises(PermissionDeniedError, match="no role for it"):  # nobody but a rektor takes it
        reassign(engine, task.id, to=people.specialpedagog, by=people.rektor, reason="Försök")
    before = audit_count(engine)
    with pytest.raises(PermissionDeniedError):
        sign_decision(engine, task.id, {"beslut_ap_motivering": "Skäl"}, by=people.specialpedagog,
                      reauthenticated_at=now())
    nothing_written(engine, task, before)
    reassign(engine, task.id, to=people.rektor, by=people.rektor, reason="Rektor beslutar själv")
    signed = sign_decision(engine, task.id, {"beslut_ap_motivering": "Skäl"}, by=people.rektor,
                           reauthenticated_at=now())
    assert signed.decision == "sarskild_undervisningsgrupp" and verify_document(engine, signed.decision_id)


def test_the_document_is_downloaded_through_need_to_know_and_logged(engine, people, decision_task):
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    [entry] = open_case(engine, people.specialpedagog, decision_task.case_id).decisions
    assert (entry.id, entry.signer_name, entry.document_sha256) == (signed.decision_id, "Rektor",
                                                                   signed.document_sha256)
    name, pdf = decision_document(engine, people.specialpedagog, signed.decision_id)
    assert name.startswith(f"beslut-atgardsprogram-arende-{decision_task.case_id}-") and name.endswith(".pdf")
    assert "Alva" not in name and hashlib.sha256(pdf).hexdigest() == signed.document_sha256
    with pytest.raises(NotVisibleError):
        decision_document(engine, people.outsider, signed.decision_id)
    with pytest.raises(NotVisibleError):
        decision_document(engine, people.outsider, 424242)
    with engine.db.read() as s:
        rows = s.execute(select(AccessLogEntry.user_id, AccessLogEntry.action, AccessLogEntry.allowed)
                         .where(AccessLogEntry.action == "download_document")
                         .order_by(AccessLogEntry.id)).all()
    assert [tuple(r) for r in rows] == [(people.specialpedagog, "download_document", True),
                                        (people.outsider, "download_document", False),
                                        (people.outsider, "download_document", False)]


def test_the_signed_document_says_where_to_send_the_appeal_and_the_case_number(engine, people, decision_task):
    """Issue 12: the appeal goes to the school unit at its postal address, marked with the case number."""
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    text = document_text(decision_document(engine, people.rektor, signed.decision_id)[1])
    assert ("Överklagandet ska skickas eller lämnas till Ekskolan, Box 12, 123 45 Exempelby och märkas med "
            f"ärendenummer {decision_task.case_id}.") in text


def test_with_no_postal_address_the_appeal_goes_to_the_school_unit_by_name(engine, people, decision_task):
    with engine.db.write() as s:
        s.execute(update(SchoolUnit).where(SchoolUnit.id == people.unit).values(postal_address=None))
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    text = document_text(decision_document(engine, people.rektor, signed.decision_id)[1])
    assert ("Överklagandet ska skickas eller lämnas till skolenheten Ekskolan och märkas med ärendenummer "
            f"{decision_task.case_id}.") in text
    assert "Ekskolan, ," not in text and "Box 12" not in text


def test_a_protected_pupils_decision_goes_only_to_those_who_may_see_the_name(engine, people, decision_task):
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(protected_identity=True))
    assert decision_document(engine, people.rektor, signed.decision_id)[1].startswith(b"%PDF-")
    # the investigator did a task in the case, so may see the name; a kurator of the team did not
    assert decision_document(engine, people.specialpedagog, signed.decision_id)
    with engine.db.write() as s:
        kurator = org.add_user(s, "kurator", "Kurator")
        org.assign_role(s, kurator.id, people.unit, "kurator")
    with pytest.raises(NotVisibleError):
        decision_document(engine, kurator.id, signed.decision_id)


def test_tampering_with_a_stored_document_is_found(engine, people, decision_task):
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    with engine.db.write() as s:
        record = s.get(DecisionRecord, signed.decision_id)
        original = bytes(record.document)
        record.document = original[:200] + bytes([original[200] ^ 1]) + original[201:]  # one bit
    assert not verify_document(engine, signed.decision_id)
    with engine.db.write() as s:  # bytes and hash changed together: the audit chain still disagrees
        record = s.get(DecisionRecord, signed.decision_id)
        record.document_sha256 = hashlib.sha256(record.document).hexdigest()
    assert not verify_document(engine, signed.decision_id)
    with engine.db.write() as s:
        record = s.get(DecisionRecord, signed.decision_id)
        record.document, record.document_sha256 = original, signed.document_sha256
    assert verify_document(engine, signed.decision_id)


# ------------------------------------------------------------- a decision is completed only by signing it
def test_complete_task_refuses_a_decision_and_points_to_signing(engine, people, decision_task):
    """Issue 12 point 11: through the engine API a decision cannot be completed without its document."""
    before = audit_count(engine)
    with pytest.raises(SigningRequiredError, match="only by signing it.*elevflow sign"):
        complete_task(engine, decision_task.id, DECISION, by=people.rektor)
    nothing_written(engine, decision_task, before)
    signed = sign_decision(engine, decision_task.id, DECISION, by=people.rektor, reauthenticated_at=now())
    assert get_task(engine, decision_task.id).state == "completed" and [r.id for r in records(engine)] == \
        [signed.decision_id]


def cli(db_url, *args, input=None):
    return CliRunner().invoke(main, ["--database", db_url, *args], input=input)


def test_the_command_line_signs_only_after_the_password_is_given_again(engine, db_url, people, decision_task,
                                                                        tmp_path):
    """`elevflow complete` refuses a decision; `elevflow sign` asks for the password, counts a wrong
    one as a failed login and signs nothing, then signs with the right one and writes the document."""
    passwords.set_password(engine, "rektor", "rätt-lösenord-1")
    data = json.dumps(DECISION)
    refused = cli(db_url, "complete", str(decision_task.id), "--as", "rektor", "--data", data)
    assert refused.exit_code == 2 and "only by signing it" in refused.output, refused.output
    wrong = cli(db_url, "sign", str(decision_task.id), "--as", "rektor", "--data", data, input="fel\n")
    assert wrong.exit_code == 2 and "wrong password" in wrong.output, wrong.output
    nothing_written(engine, decision_task, audit_count(engine))
    with engine.db.read() as s:
        assert s.scalars(select(LoginAttempt.success).where(LoginAttempt.address == "cli")).all() == [False]
    pdf = tmp_path / "beslut.pdf"
    done = cli(db_url, "sign", str(decision_task.id), "--as", "rektor", "--data", data, "--pdf", str(pdf),
               input="rätt-lösenord-1\n")
    assert done.exit_code == 0, done.output
    [record] = records(engine)
    assert f"decision {record.id}, sha256 {record.document_sha256}" in done.output
    assert pdf.read_bytes() == bytes(record.document) and verify_document(engine, record.id)
    assert get_task(engine, decision_task.id).state == "completed"
