"""The engine checks form data itself (engine/routines/formcheck.py), whoever sends it: a required text is
more than
whitespace, dates keep the order their form declares (routine data, not Python), and `format: date-time`
is enforced. Refused data changes nothing.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import routine_scenarios as rs
import time_machine
from bpmn_builder import one_task
from routine_walks import drive
from test_routines import START, build_school, form_data, ready_tasks

from elevflow.engine import DefinitionError, FormValidationError, complete_task, deploy, get_task, start_case
from elevflow.engine.routines.formcheck import DateProblem
from elevflow.engine.runtime.tasks import task_info


def today() -> date:
    return datetime.now(timezone.utc).date()  # the clock stands at 07:30 UTC: the same date in Stockholm


def refuses(engine, task, data, by) -> FormValidationError:
    with pytest.raises(FormValidationError) as refused:
        complete_task(engine, task.id, data, by=by)
    assert get_task(engine, task.id).state == "ready"
    return refused.value


def test_a_required_text_of_only_whitespace_is_refused_also_inside_a_list(engine):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        report = drive(engine, school, clock, rs.SS, "Task_anmalan_rektor")
        data = form_data(task_info(engine, report)["form"], {}, school)
        error = refuses(engine, report, {**data, "anmalan_svarigheter": " \n\t"}, school.users["teacher"])
        assert list(error.errors) == ["anmalan_svarigheter"]
        complete_task(engine, report.id, data, by=school.users["teacher"])

        programme = drive(engine, school, clock, rs.SS, "Task_utarbeta_atgardsprogram")
        data = form_data(task_info(engine, programme)["form"], rs.PROGRAMME, school)
        data["uppfoljning_ansvarig"] = school.users["specialpedagog"]
        blank_need = {**data, "ap_behov": [{"omrade": "Matematik", "behov": "   "}]}
        error = refuses(engine, programme, blank_need, school.users["specialpedagog"])
        assert list(error.errors) == ["ap_behov.0.behov"]


def test_dates_keep_the_order_the_forms_declare(engine):
    school = build_school(engine, ["sarskilt_stod"])
    specialpedagog = school.users["specialpedagog"]
    with time_machine.travel(START, tick=False) as clock:
        report = drive(engine, school, clock, rs.SS, "Task_anmalan_rektor")
        data = form_data(task_info(engine, report)["form"], {}, school)
        tomorrow = (today() + timedelta(days=1)).isoformat()
        error = refuses(engine, report, {**data, "anmalan_datum": tomorrow}, school.users["teacher"])
        assert error.details == [DateProblem("anmalan_datum", "dateNotAfter", "today", today())]

        # the programme: its follow-up lies after today
        programme = drive(engine, school, clock, rs.SS, "Task_utarbeta_atgardsprogram")
        day = today()
        data = form_data(task_info(engine, programme)["form"], rs.PROGRAMME, school)
        error = refuses(engine, programme, {**data, "uppfoljning_datum": day.isoformat()}, specialpedagog)
        assert error.details == [DateProblem("uppfoljning_datum", "dateAfter", "today", day)]
        follow_up = day + timedelta(days=3)
        complete_task(engine, programme.id, {**data, "uppfoljning_datum": follow_up.isoformat()},
                      by=specialpedagog)

        # the decision: not after today, and before the follow-up it sets in motion
        clock.shift(timedelta(days=5))
        [decision] = ready_tasks(engine, programme.case_id)
        data = form_data(task_info(engine, decision)["form"], {}, school)
        now = day + timedelta(days=5)
        error = refuses(engine, decision, {**data, "beslut_ap_datum": now.isoformat()},
                        school.users["rektor"])
        assert error.details == [DateProblem("beslut_ap_datum", "dateBefore", "uppfoljning_datum", follow_up)]
        future = (now + timedelta(days=1)).isoformat()
        error = refuses(engine, decision, {**data, "beslut_ap_datum": future}, school.users["rektor"])
        assert {(p.rule, p.reference) for p in error.details} == {
            ("dateNotAfter", "today"), ("dateBefore", "uppfoljning_datum")}
        assert f"must be on or before today ({now.isoformat()})" in error.errors["beslut_ap_datum"]


def test_a_receipt_cannot_be_dated_after_today_and_the_next_follow_up_lies_after_the_evaluation(engine):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        delivery = drive(engine, school, clock, rs.SS, "Task_delge_beslut")
        form = task_info(engine, delivery)["form"]
        data = form_data(form, {}, school)
        tomorrow = (today() + timedelta(days=1)).isoformat()
        late = {**data, "delgivning_mottagare": [{**data["delgivning_mottagare"][0],
                                                  "mottaget_datum": tomorrow}]}
        error = refuses(engine, delivery, late, school.users["rektor"])
        assert [p.path for p in error.details] == ["delgivning_mottagare.0.mottaget_datum"]

        # (a new case: the first one waits at its delivery)
        follow_up = drive(engine, school, clock, rs.SS, "Task_uppfoljning")
        data = form_data(task_info(engine, follow_up)["form"], {"utvardering_slutsats": "fortsatt"}, school)
        evaluated = data["utvardering_datum"]
        follower = school.users["specialpedagog"]
        error = refuses(engine, follow_up, {**data, "uppfoljning_datum": evaluated}, follower)
        assert error.details == [DateProblem("uppfoljning_datum", "dateAfter", "utvardering_datum",
                                             date.fromisoformat(evaluated))]
        complete_task(engine, follow_up.id, data, by=follower)


STAMP = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
         "properties": {"tid": {"type": "string", "format": "date-time"}}, "required": ["tid"],
         "additionalProperties": False}


def test_format_date_time_is_enforced(engine, people):
    deploy(engine, {"test.bpmn": one_task()}, {"svar.json": STAMP})
    case = start_case(engine, "testprocess", pupil_id=people.pupil, by=people.teacher)
    [task] = ready_tasks(engine, case.id)
    for wrong in ("2026-01-12", "2026-01-12T10:00:00", "12/1 2026 10:00", "2026-01-12T25:00:00+01:00"):
        error = refuses(engine, task, {"tid": wrong}, people.teacher)
        assert list(error.errors) == ["tid"], wrong
    complete_task(engine, task.id, {"tid": "2026-01-12T10:00:00+01:00"}, by=people.teacher)


@pytest.mark.parametrize("rule, problem", [
    ({"type": "string", "dateAfter": ["today"]}, "only for a field of format date"),
    ({"type": "string", "format": "date", "dateNotAfter": "today"}, "must be a list of references"),
])
def test_a_form_with_a_malformed_date_rule_is_not_deployed(engine, rule, problem):
    form = {**STAMP, "properties": {"tid": rule}}
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, {"test.bpmn": one_task()}, {"svar.json": form})
    assert problem in str(refused.value)
