"""A school nurse's or doctor's entry is the medical part's, whatever step it is written in (OSL 25 kap. 1 §,
23 kap. 2 §): decided by who wrote it, recorded when they wrote it, withheld from the teacher, the kurator,
the specialpedagog and the rektor until the nurse or doctor releases it with its ground — on the case
page (`open_case`), a task's data (`task_data_for`) and a decision document.

Scenario: a särskilt stöd case walked through the engine API on a controlled clock, everyone in their lane;
the EHT samråd (the Elevhälsopersonal lane, served by every EHT role) is done by the school nurse.
"""
from __future__ import annotations

import pytest
import routine_scenarios as rs
import time_machine
from routine_walks import do, drive
from sqlalchemy import delete
from test_decisions import signed_text
from test_routines import START, build_school, form_data, ready_tasks

from elevflow.engine import PermissionDeniedError, complete_task, open_case, release_medical, task_data_for
from elevflow.engine.org import records as org
from elevflow.engine.oversight.visibility import WITHHELD, unreleased_medical_keys
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage.models import RoleAssignment

NURSE_SAYS = "Synundersökning: nedsatt syn på vänster öga, remiss skickad."
NOT_MEDICAL = ("rektor", "kurator", "specialpedagog", "teacher", "skolpsykolog")


def with_nurse(engine, school):
    with engine.db.write() as s:
        nurse = org.add_user(s, "nurse", "Nurse", "nurse@example.se")
        org.assign_role(s, nurse.id, school.unit, "skolskoterska")
    school.users["nurse"] = nurse.id
    return nurse.id


def samrad_by(engine, school, clock, user: str):
    task = drive(engine, school, clock, rs.SS, "Task_samrad_elevhalsa")
    data = form_data(task_info(engine, task)["form"], {"samrad_bidrag": NURSE_SAYS}, school)
    complete_task(engine, task.id, data, by=school.users[user])
    return task


def entry(engine, user_id, case_id, bpmn_id):
    [found] = [t for t in open_case(engine, user_id, case_id).tasks if t.bpmn_id == bpmn_id]
    return found


def test_the_nurses_entry_in_the_eht_consultation_is_withheld_until_she_releases_it(engine):
    school = build_school(engine, ["sarskilt_stod"])
    nurse = with_nurse(engine, school)
    with time_machine.travel(START, tick=False) as clock:
        samrad = samrad_by(engine, school, clock, "nurse")
    case_id = samrad.case_id

    for user in NOT_MEDICAL:
        seen = entry(engine, school.users[user], case_id, "Task_samrad_elevhalsa")
        assert (seen.medical, seen.withheld, seen.data) == (True, True, None), user
        assert seen.completed_by_name == "Nurse"  # that it happened and who did it is not secret
        shown = task_data_for(engine, school.users[user], samrad.id)
        assert (shown.withheld, shown.data, shown.message) == (True, None, WITHHELD), user
    assert entry(engine, nurse, case_id, "Task_samrad_elevhalsa").data["samrad_bidrag"] == NURSE_SAYS

    with pytest.raises(PermissionDeniedError):  # only the medical part releases its own records
        release_medical(engine, samrad.id, school.users["rektor"], "Rektor vill läsa")
    assert release_medical(engine, samrad.id, nurse, "Vårdnadshavarnas samtycke 2026-01-30")
    for user in NOT_MEDICAL:
        seen = entry(engine, school.users[user], case_id, "Task_samrad_elevhalsa")
        assert seen.data["samrad_bidrag"] == NURSE_SAYS


def test_the_same_step_done_by_the_kurator_is_not_the_medical_parts(engine):
    """Decided by who wrote it, not by the lane: the kurator's samråd entry is the team's to read."""
    school = build_school(engine, ["sarskilt_stod"])
    with_nurse(engine, school)
    with time_machine.travel(START, tick=False) as clock:
        samrad = samrad_by(engine, school, clock, "kurator")
    seen = entry(engine, school.users["rektor"], samrad.case_id, "Task_samrad_elevhalsa")
    assert (seen.medical, seen.withheld, seen.data["samrad_bidrag"]) == (False, False, NURSE_SAYS)


def test_what_the_nurse_wrote_stays_hers_after_she_leaves_the_unit(engine):
    """Authorship is recorded when the step is done, so a later change of roles releases nothing."""
    school = build_school(engine, ["sarskilt_stod"])
    nurse = with_nurse(engine, school)
    with time_machine.travel(START, tick=False) as clock:
        samrad = samrad_by(engine, school, clock, "nurse")
    with engine.db.write() as s:
        s.execute(delete(RoleAssignment).where(RoleAssignment.user_id == nurse))
    assert entry(engine, school.users["rektor"], samrad.case_id, "Task_samrad_elevhalsa").withheld


def test_a_decision_document_does_not_print_what_the_medical_part_wrote(engine):
    """The rektor appoints the nurse to follow the programme up (she is also the unit's specialpedagog,
    the role the follow-up's lane asks for); her evaluation is medical data, since she holds a medical
    role, so the end decision — a public document — does not print it until she has released it."""
    school = build_school(engine, ["sarskilt_stod"])
    nurse = with_nurse(engine, school)
    with engine.db.write() as s:
        org.assign_role(s, nurse, school.unit, "specialpedagog")
    answers = {**rs.SS, "Task_utarbeta_atgardsprogram": {**rs.PROGRAMME, "uppfoljning_ansvarig": "@nurse"}}
    with time_machine.travel(START, tick=False) as clock:
        follow_up = drive(engine, school, clock, answers, "Task_uppfoljning")
        assert follow_up.assignee_id == nurse
        said = "Utvärdering: synen korrigerad med glasögon, läser nu i normal takt."
        data = form_data(task_info(engine, follow_up)["form"], {"utvardering_slutsats": "avsluta",
                                                            "utvardering_utveckling": said}, school)
        complete_task(engine, follow_up.id, data, by=nurse)
        with engine.db.transaction() as tx:
            assert {"utvardering_utveckling", "utvardering_slutsats"} <= unreleased_medical_keys(
                tx, follow_up.case_id)
        do(engine, school, drive_to_open(engine, follow_up.case_id, "Task_uppdaterad_bedomning"), {})
        decision = drive_to_open(engine, follow_up.case_id, "Task_beslut_avsluta")
        do(engine, school, decision, {"beslut_avslut_beslutsfattare": "rektor"})
    text = signed_text(engine, school, decision.id)
    assert "Slutsats Programmet avslutas" not in text and "Slutsats —" in text


def drive_to_open(engine, case_id, bpmn_id):
    [task] = [t for t in ready_tasks(engine, case_id) if t.bpmn_id == bpmn_id]
    return task
