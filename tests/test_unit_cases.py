"""Cases without a pupil (issue 12 point 9; domain brief §3): the årshjul is the unit's own quality work
and a BUS avvikelse must be de-identified, so both run as cases of a school unit with no pupil record.

Through the engine API, on a controlled clock, with a real person in every lane: the case, its task rows,
its audit events, its notices and its data hold no pupil; who may see it follows the routine's lanes at
the unit (the rektor, who works on it) and nobody else; every look is logged without a pupil. Starting
such a routine for a pupil, or a pupil's routine without one, is refused and changes nothing; a routine
says which kind it is in its diagram (`caseSubject`), which deploy checks.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import routine_scenarios as rs
import time_machine
from sqlalchemy import func, select
from test_routines import PROCESSES, START, School, build_school, form_data, ready_tasks, walk

from elevflow.engine import (
    CaseSubjectError,
    DefinitionError,
    FormValidationError,
    NotVisibleError,
    case_data,
    complete_task,
    deploy,
    get_case,
    inbox,
    list_tasks,
    open_case,
    start_case,
    task_data_for,
    verify_audit,
    visible_cases,
)
from elevflow.engine.expressions.terms import Term
from elevflow.engine.org import records as org
from elevflow.engine.oversight import quality
from elevflow.engine.oversight.quality import Selection
from elevflow.engine.routines import definitions
from elevflow.engine.runtime import migration
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import AccessLogEntry, Case, Notification, TaskRow
from elevflow.engine.work import notices

SCENARIOS = {s.id: s for s in rs.SCENARIOS}


def other_people(engine, school: School) -> dict[str, int]:
    """A teacher at another unit of the same organiser, and someone with no role anywhere."""
    with engine.db.write() as s:
        other = org.add_unit(s, "20000002", "Björkskolan")
        teacher = org.add_user(s, "teacher_b", "Teacher B", "teacher_b@example.se")
        org.assign_role(s, teacher.id, other.id, "larare")
        rektor = org.add_user(s, "rektor_b", "Rektor B")
        org.assign_role(s, rektor.id, other.id, "rektor")
        outsider = org.add_user(s, "outsider", "Outsider")
        return {"teacher_b": teacher.id, "rektor_b": rektor.id, "outsider": outsider.id, "unit_b": other.id}


def assert_no_pupil_anywhere(engine, school: School, case_id: int) -> None:
    """The case, every task row, every audit event and the case data name the unit and no pupil."""
    case = get_case(engine, case_id)
    assert (case.pupil_id, case.unit_id) == (None, school.unit)
    rows = list_tasks(engine, case_id=case_id)
    assert rows and {(t.pupil_id, t.unit_id) for t in rows} == {(None, school.unit)}
    events = audit.events(engine, case_id=case_id, limit=100_000)
    assert events and {(e.pupil_id, e.unit_id) for e in events} == {(None, school.unit)}
    assert "elev_id" not in case_data(engine, case_id)


def access_rows(engine, case_id: int) -> list[tuple[int, int | None, int | None, str, bool]]:
    with engine.db.read() as s:
        return [tuple(r) for r in s.execute(
            select(AccessLogEntry.user_id, AccessLogEntry.pupil_id, AccessLogEntry.unit_id,
                   AccessLogEntry.action, AccessLogEntry.allowed)
            .where(AccessLogEntry.case_id == case_id).order_by(AccessLogEntry.id)).all()]


# ------------------------------------------------------------------------------------------------ årshjul
def test_the_arshjul_runs_as_a_case_of_the_unit_with_no_pupil(engine):
    school = build_school(engine, ["arshjul"])
    assert definitions.unit_routines(engine) == {"arshjul"}
    scenario = SCENARIOS["arshjul_with_2_check_ins_counted_by_the_process"]
    result = walk(engine, school, scenario)  # every lane's own person does each step; others are refused

    assert result.path == list(scenario.path)
    assert get_case(engine, result.case_id).status == "completed"
    assert_no_pupil_anywhere(engine, school, result.case_id)
    assert verify_audit(engine).ok


def test_who_sees_a_unit_level_arshjul_and_every_look_is_logged_without_a_pupil(engine):
    school = build_school(engine, ["arshjul"])
    others = other_people(engine, school)
    users = {**school.users, **others}
    with time_machine.travel(START, tick=False) as clock:
        case = start_case(engine, "arshjul", unit_id=school.unit, by=users["rektor"])
        [plan] = ready_tasks(engine, case.id)
        complete_task(engine, plan.id, form_data(task_info(engine, plan)["form"], {
            "lasar": "2025/26", "antal_avstamningar": 2}, school), by=users["rektor"])
        clock.shift(timedelta(days=1))

        view = open_case(engine, users["rektor"], case.id)
        assert (view.pupil_id, view.pupil_name, view.pupil_class, view.unit_id) == \
            (None, None, None, school.unit)
        assert sorted(t.bpmn_id for t in view.tasks) == ["Task_ar_dataanalys", "Task_ar_planera"]
        open_case(engine, users["kurator"], case.id)  # the Elevhälsopersonal lane is the team's
        assert task_data_for(engine, users["kurator"], plan.id).data["lasar"] == "2025/26"
        for outsider in ("teacher", "mentor", "teacher_b", "rektor_b", "outsider", "huvudman"):
            with pytest.raises(NotVisibleError):
                open_case(engine, users[outsider], case.id)
        assert [c.id for c in visible_cases(engine, users["rektor"])] == [case.id]
        assert visible_cases(engine, users["rektor"])[0].pupil_name is None
        assert visible_cases(engine, users["teacher"]) == []

        # the huvudman sees it once the routine reaches the Huvudman lane
        while (open_tasks := ready_tasks(engine, case.id)) and open_tasks[0].bpmn_id != "Task_ar_huvudman":
            task = open_tasks[0]
            user = rs.LANE_USER[task.role]
            complete_task(engine, task.id, form_data(task_info(engine, task)["form"], {}, school),
                          by=users[user])
            clock.shift(timedelta(days=1))
        assert task_data_for(engine, users["huvudman"], plan.id).data["antal_avstamningar"] == 2

    logged = access_rows(engine, case.id)
    assert {(p, unit) for _, p, unit, _, _ in logged} == {(None, school.unit)}
    assert [(u, action) for u, _, _, action, allowed in logged if allowed] == [
        (users["rektor"], "view_case"), (users["kurator"], "view_case"), (users["kurator"], "view_task"),
        (users["huvudman"], "view_task")]
    assert [u for u, _, _, _, allowed in logged if not allowed] == [
        users[n] for n in ("teacher", "mentor", "teacher_b", "rektor_b", "outsider", "huvudman")]


def test_an_overdue_unit_level_task_reminds_its_lane_and_escalates_without_a_pupil(engine):
    school = build_school(engine, ["arshjul"])
    with time_machine.travel(START, tick=False) as clock:
        case = start_case(engine, "arshjul", unit_id=school.unit, by=school.users["rektor"])
        [plan] = ready_tasks(engine, case.id)
        assert plan.due_at == START + timedelta(weeks=4)
        clock.move_to(plan.due_at + timedelta(days=30))
        assert notices.fire_due(engine) >= 2  # the reminder, then the escalation to the rektor
    with engine.db.read() as s:
        told = s.execute(select(Notification.user_id, Notification.kind)
                         .where(Notification.case_id == case.id).order_by(Notification.id)).all()
    assert (school.users["rektor"], "reminder") in told and (school.users["rektor"], "escalation") in told
    kinds = {e.kind for e in audit.events(engine, case_id=case.id, limit=1000)}
    assert {"deadline_reminder", "deadline_escalated"} <= kinds
    assert_no_pupil_anywhere(engine, school, case.id)


# ---------------------------------------------------------------------------------------------- avvikelse
def test_a_bus_avvikelse_runs_as_a_de_identified_case_of_the_unit(engine):
    school = build_school(engine, ["avvikelse"])
    assert definitions.unit_routines(engine) == {"avvikelse"}
    scenario = SCENARIOS["avvikelse_reported_and_followed_up_twice"]
    result = walk(engine, school, scenario)

    assert result.path == list(scenario.path)
    assert get_case(engine, result.case_id).status == "completed"
    assert_no_pupil_anywhere(engine, school, result.case_id)
    assert verify_audit(engine).ok


def test_an_avvikelse_refuses_a_personnummer_in_its_texts_and_is_seen_only_by_its_lanes(engine):
    school = build_school(engine, ["avvikelse"])
    others = other_people(engine, school)
    users = {**school.users, **others}
    with time_machine.travel(START, tick=False):
        case = start_case(engine, "avvikelse", unit_id=school.unit, by=users["kurator"])
        [describe] = ready_tasks(engine, case.id)
        assert describe.bpmn_id == "Task_avv_beskriv" and describe.pupil_id is None
        assert describe.id in {t.id for t in inbox(engine, users["skolpsykolog"])}  # the team's lane
        assert describe.id not in {t.id for t in inbox(engine, users["teacher"])}
        form = task_info(engine, describe)["form"]
        valid = form_data(form, {"avv_beskrivning": "BUP svarade inte på remissen"}, school)
        for text in ("Eleven 20100314-1234 fick ingen tid", "Eleven (100314-1234) fick ingen tid",
                     "Eleven 1003141234 fick ingen tid", "100314+1234"):
            data = {**valid, "avv_konsekvens": text}
            with pytest.raises(FormValidationError) as refused:
                complete_task(engine, describe.id, data, by=users["kurator"])
            assert list(refused.value.errors) == ["avv_konsekvens"]
        assert [t.id for t in ready_tasks(engine, case.id)] == [describe.id]  # nothing changed
        complete_task(engine, describe.id, form_data(form, {
            "avv_beskrivning": "BUP svarade inte på remissen på åtta veckor (ref. 2025-03)",
            "avv_konsekvens": "Insatsen försenades en termin"}, school), by=users["kurator"])

        assert open_case(engine, users["rektor"], case.id).pupil_name is None
        open_case(engine, users["skolpsykolog"], case.id)
        for outsider in ("teacher", "mentor", "huvudman", "teacher_b", "rektor_b", "outsider"):
            with pytest.raises(NotVisibleError):
                open_case(engine, users[outsider], case.id)
    logged = access_rows(engine, case.id)
    assert [(u, p, unit, allowed) for u, p, unit, _, allowed in logged] == [
        (users["rektor"], None, school.unit, True), (users["skolpsykolog"], None, school.unit, True),
        *[(users[n], None, school.unit, False)
          for n in ("teacher", "mentor", "huvudman", "teacher_b", "rektor_b", "outsider")]]


# ---------------------------------------------------------------------------------------- the wrong start
def test_a_unit_level_routine_is_refused_for_a_pupil_and_a_pupils_routine_without_one(engine):
    school = build_school(engine, ["arshjul", "avvikelse", "orosanmalan"])
    with time_machine.travel(START, tick=False):
        for routine in ("arshjul", "avvikelse"):
            with pytest.raises(CaseSubjectError, match="no pupil"):
                start_case(engine, routine, pupil_id=school.pupil, by=school.users["rektor"])
            with pytest.raises(CaseSubjectError, match="which unit"):
                start_case(engine, routine, by=school.users["rektor"])
            with pytest.raises(CaseSubjectError, match="names no pupil"):
                start_case(engine, routine, unit_id=school.unit, by=school.users["rektor"],
                           data={"elev_id": school.pupil})
        with pytest.raises(CaseSubjectError, match="which pupil"):
            start_case(engine, "orosanmalan", unit_id=school.unit, by=school.users["teacher"])
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(TaskRow)) == 0


def bpmn_with_subject(value: str, name: str = "caseSubject") -> dict[str, str]:
    text = (PROCESSES / "avvikelse" / "avvikelse.bpmn").read_text(encoding="utf-8")
    marker = '<spiffworkflow:property name="caseSubject" value="unit" />'
    assert marker in text
    changed = f'<spiffworkflow:property name="{name}" value="{value}" />'
    return {"avvikelse.bpmn": text.replace(marker, changed)}


def forms_of(routine: str) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (PROCESSES / routine / "forms").glob("*.json")}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("caseSubject", "klass", "caseSubject is 'klass'; it must be one of pupil, unit"),
    ("caseSubjekt", "unit", "unknown routine property 'caseSubjekt'"),
])
def test_deploy_refuses_an_unknown_case_subject(engine, name, value, message):
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, bpmn_with_subject(value, name), forms_of("avvikelse"))
    [problem] = refused.value.problems
    assert message in problem.message and problem.element_id == "avvikelse" and problem.line
    assert definitions.versions(engine) == []


def test_a_routine_says_whether_its_cases_have_a_pupil_and_a_running_case_keeps_its_kind(engine):
    school = build_school(engine, [])
    with engine.db.write() as s:
        org.assign_role(s, school.users["rektor"], school.unit, "processagare")
    pupil_version = deploy(engine, bpmn_with_subject("pupil"), forms_of("avvikelse"))
    assert definitions.unit_routines(engine) == frozenset()
    with time_machine.travel(START, tick=False):
        old = start_case(engine, "avvikelse", pupil_id=school.pupil, by=school.users["kurator"])
        deploy(engine, bpmn_with_subject("unit"), forms_of("avvikelse"))
        assert definitions.unit_routines(engine) == {"avvikelse"}
        new = start_case(engine, "avvikelse", unit_id=school.unit, by=school.users["kurator"])
        [move] = migration.migrate(engine, "avvikelse", by=school.users["rektor"])
    assert (move.case_id, move.movable, move.moved) == (old.id, False, False)
    assert move.reasons == ["version 2 runs as a case of the school unit, without a pupil; this case is a "
                            "pupil's"]
    assert get_case(engine, old.id).process_version_id == pupil_version[0].id
    assert (get_case(engine, old.id).pupil_id, get_case(engine, new.id).pupil_id) == (school.pupil, None)


def test_every_shipped_routine_says_what_its_cases_are_about(engine):
    build_school(engine, sorted(p.name for p in PROCESSES.iterdir() if p.is_dir() and p.name != "shared"))
    assert definitions.unit_routines(engine) == rs.UNIT_LEVEL


# ------------------------------------------------------------------------------------ the quality figures
def test_unit_level_cases_are_counted_in_the_quality_figures_and_never_hidden(engine):
    """The huvudman sees small counts of pupils' cases hidden; an avvikelse or a check-in names no pupil,
    so its count is shown exactly, to the huvudman too, and the årshjul's check-ins are listed."""
    school = build_school(engine, ["arshjul", "avvikelse", "orosanmalan"])
    for scenario in ("avvikelse_reported_and_followed_up_twice", "avvikelse_solved_locally",
                     "arshjul_with_2_check_ins_counted_by_the_process"):
        walk(engine, school, SCENARIOS[scenario])
    with time_machine.travel(START, tick=False):
        for _ in range(2):  # two pupils' reports, made by the teacher who starts them
            case = start_case(engine, "orosanmalan", pupil_id=school.pupil, by=school.users["teacher"])
            [report] = ready_tasks(engine, case.id)
            complete_task(engine, report.id, form_data(task_info(engine, report)["form"], {}, school),
                          by=school.users["teacher"])
    term = Term.of(START)
    as_of = START + timedelta(days=60)
    for who, exact in (("rektor", True), ("huvudman", False)):
        scope = quality.scope_for(engine, school.users[who])
        dash = quality.dashboard(engine, scope, Selection(term, (school.unit,), as_of=as_of))
        assert dash.exact is exact
        counts = {s.key: s.by_term[term.key] for s in dash.counts}
        assert {k: (c.value, c.suppressed) for k, c in counts.items()
                if k in ("avvikelser", "avvikelser_rapporterade", "arshjul_avstamningar")} == {
            "avvikelser": (2, False), "avvikelser_rapporterade": (1, False),
            "arshjul_avstamningar": (2, False)}
        steps = {(s.routine, s.bpmn_id): s for s in dash.steps}
        assert steps[("avvikelse", "Task_avv_uppfoljning")].passed == quality.Cell(2, 2)
        assert steps[("arshjul", "Task_ar_avstamning")].passed == quality.Cell(2, 2)
        reported = steps[("orosanmalan", report.bpmn_id)].passed  # pupils' cases: hidden from the huvudman
        assert reported == (quality.Cell(2, 2) if exact else quality.Cell(None, 0, True))
    check_ins = quality.check_ins(engine, [school.unit])
    assert [(state, unit) for _, _, unit, _, state, _ in check_ins] == [("completed", school.unit)] * 2
