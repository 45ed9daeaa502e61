"""Completing tasks: server-side form validation, rights, and exactly one winner under concurrency."""
from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import datetime, timezone

import pytest
from bpmn_builder import FORM, process
from conftest import REPORT, ready
from sqlalchemy import func, select

from elevflow.engine import (
    ConflictError,
    Engine,
    FormValidationError,
    NotFoundError,
    PermissionDeniedError,
    SigningRequiredError,
    complete_task,
    deploy,
    get_case,
    inbox,
    sign_decision,
    start_case,
    verify_audit,
)
from elevflow.engine.storage.models import AuditEvent


def audit_count(engine):
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def case(engine, people, chain):
    return start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)


def test_invalid_form_data_gives_per_field_errors_and_changes_nothing(engine, people, case):
    [task] = ready(engine, case.id)
    before = audit_count(engine)
    with pytest.raises(FormValidationError) as info:
        complete_task(engine, task.id, {"anmalan_datum": "igår", "beskrivning": "kort", "extra": 1},
                      by=people.teacher)
    errors = info.value.errors
    assert set(errors) == {"anmalan_datum", "beskrivning", ""}
    assert "date" in errors["anmalan_datum"][0] and "short" in errors["beskrivning"][0]
    assert ready(engine, case.id)[0].id == task.id and audit_count(engine) == before
    assert get_case(engine, case.id).row_version == case.row_version


def test_a_missing_required_field_is_named(engine, people, case):
    with pytest.raises(FormValidationError) as info:
        complete_task(engine, ready(engine, case.id)[0].id, {"beskrivning": "tillräckligt lång text"},
                      by=people.teacher)
    assert info.value.errors == {"anmalan_datum": ["required"]}


def test_data_that_is_not_json_is_refused(engine, people, case):
    from datetime import date

    from elevflow.engine import DataNotJSONError
    with pytest.raises(DataNotJSONError, match="anmalan_datum.*date"):
        complete_task(engine, ready(engine, case.id)[0].id, {**REPORT, "anmalan_datum": date(2026, 11, 20)},
                      by=people.teacher)


def test_completing_a_task_twice_is_a_conflict_naming_who_did_it(engine, people, case):
    [task] = ready(engine, case.id)
    complete_task(engine, task.id, REPORT, by=people.teacher)
    before = audit_count(engine)
    with pytest.raises(ConflictError, match=f"already completed.*user {people.teacher}"):
        complete_task(engine, task.id, REPORT, by=people.mentor)
    assert audit_count(engine) == before


def test_a_case_changed_since_the_user_opened_it_is_a_conflict(engine, people, case):
    [task] = ready(engine, case.id)
    with pytest.raises(ConflictError, match="changed by someone else"):
        complete_task(engine, task.id, REPORT, by=people.teacher, expected_row_version=case.row_version - 1)
    done = complete_task(engine, task.id, REPORT, by=people.teacher, expected_row_version=case.row_version)
    assert done.case_row_version == case.row_version + 1


def test_only_holders_of_the_lane_role_at_the_unit_may_complete(engine, people, case):
    [task] = ready(engine, case.id)
    with pytest.raises(PermissionDeniedError):
        complete_task(engine, task.id, REPORT, by=people.outsider)  # a teacher, but at another unit
    with pytest.raises(PermissionDeniedError, match="larare or mentor"):
        complete_task(engine, task.id, REPORT, by=people.specialpedagog)  # right unit, wrong role
    complete_task(engine, task.id, REPORT, by=people.mentor)  # a mentor serves the teacher lane


def test_an_unknown_task_is_not_found(engine, people, case):
    with pytest.raises(NotFoundError):
        complete_task(engine, "00000000-0000-0000-0000-000000000000", {}, by=people.teacher)
    with pytest.raises(NotFoundError):
        complete_task(engine, "inte-ett-id", {}, by=people.teacher)


def test_inbox_shows_open_tasks_of_the_users_roles_at_their_units_only(engine, people, case):
    assert [t.id for t in inbox(engine, people.teacher)] == [ready(engine, case.id)[0].id]
    assert [t.id for t in inbox(engine, people.mentor)] == [ready(engine, case.id)[0].id]
    assert inbox(engine, people.outsider) == [] and inbox(engine, people.rektor) == []
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    assert inbox(engine, people.teacher) == []
    assert [t.bpmn_id for t in inbox(engine, people.specialpedagog)] == ["Task_utredning"]


DECISION = """<bpmn:userTask id="Task_1" name="Utse beslutsfattare">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="svar.json"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Task_1" targetRef="Task_2"/>
    <bpmn:userTask id="Task_2" name="Beslut">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="assigneeFrom" value="beslutsfattare"/>
        <spiffworkflow:property name="decision" value="KIND"/>
        <spiffworkflow:property name="nonDelegable" value="NONDELEGABLE"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_2" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""


def decision_case(engine, people, kind, non_delegable, named=None, in_case_data=False):
    """A case whose second task (a decision) goes to the person the first task's form names — or, with
    `in_case_data`, whom the case's data already names (as a routine's script could)."""
    body = DECISION.replace("KIND", kind).replace("NONDELEGABLE", non_delegable)
    form = {**FORM, "properties": {"beslutsfattare": {"type": "integer"}}}
    deploy(engine, {"t.bpmn": process(body, lane="Rektor", lane_nodes=("Task_1", "Task_2"))},
           {"svar.json": json.dumps(form)})
    named = people.specialpedagog if named is None else named
    start_data = {"beslutsfattare": named} if in_case_data else {}
    case = start_case(engine, "testprocess", pupil_id=people.pupil, by=people.rektor, data=start_data)
    complete_task(engine, ready(engine, case.id)[0].id, {} if in_case_data else {"beslutsfattare": named},
                  by=people.rektor)
    [task] = ready(engine, case.id)
    return case, task


def test_a_task_goes_to_the_person_named_in_case_data(engine, people):
    from elevflow.engine.work.assignment import grant_delegation, revoke_delegation
    first = grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                             decision="atgardsprogram", document="Delegationsordning 2026-08-01 §4",
                             by=people.rektor)
    case, task = decision_case(engine, people, "atgardsprogram", "false")
    assert task.assignee_id == people.specialpedagog
    assert [t.id for t in inbox(engine, people.specialpedagog)] == [task.id]
    with pytest.raises(PermissionDeniedError, match="assigned to someone else"):
        complete_task(engine, task.id, {}, by=people.rektor)
    revoke_delegation(engine, first, by=people.rektor)
    with pytest.raises(PermissionDeniedError, match="no written delegation"):
        complete_task(engine, task.id, {}, by=people.specialpedagog)
    delegation = grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                                  decision="atgardsprogram", document="Delegationsordning 2026-08-01 §4",
                                  by=people.rektor)
    with pytest.raises(SigningRequiredError):  # the right signer, but a decision is only ever signed
        complete_task(engine, task.id, {}, by=people.specialpedagog)
    sign_decision(engine, task.id, {}, by=people.specialpedagog,  # a delegable decision, delegated in writing
                  reauthenticated_at=datetime.now(timezone.utc))
    with engine.db.read() as s:
        signed = s.scalars(select(AuditEvent).where(AuditEvent.kind == "decision_signed")).one()
        assigned = s.scalars(select(AuditEvent).where(AuditEvent.kind == "task_assigned")).one()
    assert signed.data["decision"] == "atgardsprogram" and signed.data["signer_id"] == people.specialpedagog
    assert signed.data["delegation_id"] == delegation
    assert assigned.data["assignee_id"] == people.specialpedagog


def test_a_non_delegable_decision_refuses_any_signer_but_the_rektor(engine, people):
    case, task = decision_case(engine, people, "sarskild_undervisningsgrupp", "true", in_case_data=True)
    assert task.assignee_id is None  # nobody but the rektor may be named for it
    with pytest.raises(PermissionDeniedError):
        complete_task(engine, task.id, {}, by=people.specialpedagog)
    assert ready(engine, case.id)[0].id == task.id
    sign_decision(engine, task.id, {}, by=people.rektor, reauthenticated_at=datetime.now(timezone.utc))


@pytest.mark.parametrize("who", ["unknown", "outsider", "teacher", "processagare", "beyond_ids"])
def test_a_task_named_for_someone_who_may_not_take_it_waits_in_its_lane_with_a_note(engine, people, who):
    """Named in case data but not holding the lane's role at the pupil's unit (nor a delegation for the
    decision): the task goes to no one but its lane, and the case's history says why — it never stops."""
    from editing_helpers import add_process_owner

    from elevflow.engine.oversight.visibility import case_timeline
    named = {"unknown": 424242, "outsider": people.outsider, "teacher": people.teacher, "beyond_ids": 2**40,
             "processagare": add_process_owner(engine, people.unit) if who == "processagare" else 0}[who]
    case, task = decision_case(engine, people, "atgardsprogram", "false", named=named, in_case_data=True)
    assert (task.bpmn_id, task.assignee_id) == ("Task_2", None)
    assert [t.id for t in inbox(engine, people.rektor)] == [task.id]
    assert not any(t.case_id == case.id for t in inbox(engine, people.outsider) + inbox(engine,
                                                                                        people.teacher))
    with engine.db.read() as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.kind == "assignee_refused")).one()
        assert s.scalars(select(AuditEvent).where(AuditEvent.kind == "task_assigned")).all() == []
    assert refused.case_id == case.id and refused.data["field"] == "beslutsfattare"
    [note] = [e.params for e in case_timeline(engine, people.rektor, case.id) if e.kind == "assignee_refused"]
    assert (note["task"], note["field"]) == ("Beslut", "beslutsfattare")
    assert note["named_id"] == refused.data.get("named_id")
    sign_decision(engine, task.id, {}, by=people.rektor,  # the case goes on
                  reauthenticated_at=datetime.now(timezone.utc))


def test_a_task_named_for_an_unknown_user_or_an_outsider_fails_and_changes_nothing(engine, people):
    body = DECISION.replace("KIND", "atgardsprogram").replace("NONDELEGABLE", "false")
    form = {**FORM, "properties": {"beslutsfattare": {"type": "integer"}}}
    deploy(engine, {"t.bpmn": process(body, lane="Rektor", lane_nodes=("Task_1", "Task_2"))},
           {"svar.json": json.dumps(form)})
    case = start_case(engine, "testprocess", pupil_id=people.pupil, by=people.rektor)
    [task] = ready(engine, case.id)
    from elevflow.engine.errors import FormValidationError, NotStaffError
    for named in (424242, people.outsider):  # nobody; someone at another unit
        with pytest.raises(NotStaffError) as caught:  # a form error on the field that named them
            complete_task(engine, task.id, {"beslutsfattare": named}, by=people.rektor)
        assert isinstance(caught.value, FormValidationError)
        [(field, [message])] = caught.value.errors.items()
        assert field == "beslutsfattare" and "no active member of staff at this school unit" in message
    with pytest.raises(NotStaffError):  # a teacher at the unit may not take the rektor's decision either
        complete_task(engine, task.id, {"beslutsfattare": people.teacher}, by=people.rektor)
    assert ready(engine, case.id)[0].id == task.id
    assert inbox(engine, people.outsider) == []


def race(db_url, task_id, user, barrier, results):
    """One contender: its own Database (its own connection pool), released at the same moment."""
    engine = Engine.from_settings(database_url=db_url)
    try:
        barrier.wait()
        complete_task(engine, task_id, REPORT, by=user)
        results.append("won")
    except ConflictError:
        results.append("conflict")
    finally:
        engine.close()


def test_concurrent_completion_from_threads_has_exactly_one_winner(engine, db_url, people, case):
    [task] = ready(engine, case.id)
    contenders = 6
    barrier, results = threading.Barrier(contenders), []
    threads = [threading.Thread(target=race, args=(db_url, task.id, people.teacher, barrier, results))
               for _ in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * (contenders - 1) + ["won"]
    assert [t.bpmn_id for t in ready(engine, case.id)] == ["Task_utredning"]
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.kind == "task_completed")) == 1
    assert verify_audit(engine).ok


def _process_race(db_url, task_id, user, barrier, results):
    race(db_url, task_id, user, barrier, results)


def test_concurrent_completion_from_processes_has_exactly_one_winner(engine, db_url, people, case):
    if not db_url.startswith("postgresql"):
        pytest.skip("several processes sharing one database is the PostgreSQL deployment")
    [task] = ready(engine, case.id)
    ctx = multiprocessing.get_context("spawn")
    contenders = 4
    with ctx.Manager() as manager:
        barrier, results = manager.Barrier(contenders), manager.list()
        procs = [ctx.Process(target=_process_race,
                             args=(db_url, str(task.id), people.teacher, barrier, results))
                 for _ in range(contenders)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcome = sorted(results)
    assert outcome == ["conflict"] * (contenders - 1) + ["won"]
    assert [t.bpmn_id for t in ready(engine, case.id)] == ["Task_utredning"]
    assert verify_audit(engine).ok


def test_concurrent_steps_of_different_cases_all_land_and_the_chain_stays_whole(engine, db_url, people,
                                                                                chain):
    started = [start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher) for _ in range(8)]
    tasks = [ready(engine, c.id)[0].id for c in started]
    errors = []

    def work(task_id):
        worker = Engine.from_settings(database_url=db_url)
        try:
            complete_task(worker, task_id, REPORT, by=people.teacher)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(ready(engine, c.id)[0].bpmn_id == "Task_utredning" for c in started)
    verdict = verify_audit(engine)
    assert verdict.ok, verdict
