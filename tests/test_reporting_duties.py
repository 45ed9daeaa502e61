"""The duties the law lays on every member of staff, and the deadlines it counts from, through the engine API.

Issue 12, points 2, 3, 5, 13 and 14: an orosanmälan is made by whoever is worried, whatever their role, and
nobody else sees or makes it (29 kap. 13 § skollagen, 15 kap. 1 § socialtjänstlagen 2025:400); any member
of staff reports a kränkning to the rektor, and a rektor who learns of one reports straight to the
huvudman, each within the time the law counts from when they learned of it (6 kap. 10 §); an absence
investigation is always made in samråd and the hemkommun is told of it (7 kap. 19 a §); a support case
started from an absence investigation begins at the report. Real people in every lane, a controlled clock,
on SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import routine_scenarios as rs
import time_machine
from test_routines import PROCESSES, START, answer_for, build_school, form_data, ready_tasks

from elevflow.engine import (
    FormValidationError,
    NotVisibleError,
    PermissionDeniedError,
    complete_task,
    get_task,
    inbox,
    open_case,
    start_case,
    visible_cases,
)
from elevflow.engine.errors import DefinitionError
from elevflow.engine.routines.definitions import read_folder
from elevflow.engine.routines.validation import DEFAULT_READERS, validate
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.work import assignment

#: Colleagues at the pupil's unit who neither made the report nor are named by the routine.
BYSTANDERS = ("teacher", "mentor", "specialpedagog", "skolpsykolog")


def _report(engine, school, starter: str):
    case = start_case(engine, "orosanmalan", pupil_id=school.pupil, by=school.users[starter])
    [task] = ready_tasks(engine, case.id)
    return case, task


@pytest.mark.parametrize("starter", ["kurator", "fritidspedagog"])
def test_an_orosanmalan_belongs_to_the_one_who_makes_it_and_no_teacher_sees_or_completes_it(engine, starter):
    school = build_school(engine, ["orosanmalan"])
    reporter = school.users[starter]
    with time_machine.travel(START, tick=False):
        case, task = _report(engine, school, starter)
        assert (task.bpmn_id, task.role, task.assignee_id) == ("Task_oro_anmalan", "personal", reporter)
        assert task.id in {t.id for t in inbox(engine, reporter)}
        data = form_data(task_info(engine, task)["form"], {}, school)
        others = [u for u in (*BYSTANDERS, "kurator", "rektor") if u != starter]
        for username in others:
            assert task.id not in {t.id for t in inbox(engine, school.users[username])}, username
            with pytest.raises(PermissionDeniedError):
                complete_task(engine, task.id, data, by=school.users[username])
        for username in (u for u in BYSTANDERS + ("kurator",) if u != starter):
            with pytest.raises(NotVisibleError):
                open_case(engine, school.users[username], case.id)
            assert case.id not in {c.id for c in visible_cases(engine, school.users[username])}
        assert open_case(engine, school.users["rektor"], case.id).id == case.id
        assert open_case(engine, reporter, case.id).id == case.id
        # never back to a pool, never handed on: not by the rektor, not by the reporter
        for by in (school.users["rektor"], reporter):
            with pytest.raises(PermissionDeniedError, match="personal duty"):
                assignment.release(engine, task.id, by=by)
            with pytest.raises(PermissionDeniedError, match="personal duty"):
                assignment.reassign(engine, task.id, to=school.users["teacher"], by=by, reason="Sjuk")
        assert get_task(engine, task.id).assignee_id == reporter
        complete_task(engine, task.id, data, by=reporter)
    [feedback] = ready_tasks(engine, case.id)
    assert (feedback.bpmn_id, feedback.role, feedback.assignee_id) == (
        "Task_oro_aterkoppling", "rektor", None)
    assert get_task(engine, task.id).completed_by == reporter


def test_a_new_orosanmalan_after_the_feedback_goes_back_to_the_same_reporter(engine):
    school = build_school(engine, ["orosanmalan"])
    with time_machine.travel(START, tick=False):
        case, task = _report(engine, school, "fritidspedagog")
        complete_task(engine, task.id, form_data(task_info(engine, task)["form"], {}, school),
                      by=school.users["fritidspedagog"])
        [feedback] = ready_tasks(engine, case.id)
        again = {"oro_aterkoppling": "ingen_utredning", "oro_ny_anmalan": True}
        complete_task(engine, feedback.id, form_data(task_info(engine, feedback)["form"], again, school),
                      by=school.users["rektor"])
    [again] = ready_tasks(engine, case.id)
    assert (again.bpmn_id, again.assignee_id) == ("Task_oro_anmalan", school.users["fritidspedagog"])


def test_a_staff_report_of_a_krankning_is_due_24_hours_after_staff_learned_of_it(engine):
    """Staff who learned of it three days ago and report now are late; the rektor's week counts from the
    day the rektor was told."""
    school = build_school(engine, ["krankande_behandling"])
    learned = START - timedelta(days=3)
    with time_machine.travel(START, tick=False) as clock:
        case = start_case(engine, "krankande_behandling", pupil_id=school.pupil,
                          by=school.users["fritidspedagog"])
        [task] = ready_tasks(engine, case.id)
        assert (task.bpmn_id, task.role, task.assignee_id) == (
            "Task_kb_anmalan_rektor", "personal", school.users["fritidspedagog"])
        for username in ("teacher", "mentor", "kurator"):
            assert task.id not in {t.id for t in inbox(engine, school.users[username])}
        data = form_data(task_info(engine, task)["form"], {
            "kb_kannedom_datum": learned.isoformat(), "kb_anmalan_rektor_datum": START.date().isoformat()},
            school)
        clock.shift(timedelta(hours=1))
        complete_task(engine, task.id, data, by=school.users["fritidspedagog"])
    done = get_task(engine, task.id)
    assert done.due_at == learned + timedelta(hours=24)
    assert done.completed_at > done.due_at  # on record as late
    [rektor] = ready_tasks(engine, case.id)
    assert rektor.bpmn_id == "Task_kb_rektor"
    # a week from the day of the report, to the end of that day in Swedish time (23:59, UTC+1 in January)
    assert rektor.due_at == START.replace(hour=22, minute=59) + timedelta(weeks=1)


def test_a_report_made_within_24_hours_of_learning_of_it_is_on_time(engine):
    school = build_school(engine, ["krankande_behandling"])
    with time_machine.travel(START, tick=False) as clock:
        case = start_case(engine, "krankande_behandling", pupil_id=school.pupil, by=school.users["teacher"])
        [task] = ready_tasks(engine, case.id)
        learned = START - timedelta(hours=20)
        data = form_data(task_info(engine, task)["form"], {"kb_kannedom_datum": learned.isoformat()}, school)
        clock.shift(timedelta(hours=2))
        complete_task(engine, task.id, data, by=school.users["teacher"])
    done = get_task(engine, task.id)
    assert done.due_at == learned + timedelta(hours=24) and done.completed_at <= done.due_at


def test_a_rektor_who_learns_of_a_krankning_reports_straight_to_the_organiser_within_a_week(engine):
    school = build_school(engine, ["krankande_behandling"])
    learned = START - timedelta(days=8)
    with time_machine.travel(START, tick=False):
        case = start_case(engine, "krankande_behandling", pupil_id=school.pupil, by=school.users["rektor"])
        [task] = ready_tasks(engine, case.id)
        assert (task.bpmn_id, task.role, task.assignee_id) == (
            "Task_kb_rektor_direkt", "rektor", school.users["rektor"])
        data = form_data(task_info(engine, task)["form"], {
            "kb_kannedom_datum": learned.isoformat(), "kb_utredare": "@kurator"}, school)
        for username in ("teacher", "fritidspedagog", "kurator"):
            with pytest.raises(PermissionDeniedError):
                complete_task(engine, task.id, data, by=school.users[username])
        complete_task(engine, task.id, data, by=school.users["rektor"])
    done = get_task(engine, task.id)
    assert done.due_at == learned + timedelta(weeks=1) and done.completed_at > done.due_at  # late
    assert sorted(t.bpmn_id for t in ready_tasks(engine, case.id)) == [
        "Task_kb_huvudman_registrera", "Task_kb_utredning"]


def test_a_teacher_who_starts_a_krankning_report_is_not_taken_for_the_rektor(engine):
    school = build_school(engine, ["krankande_behandling"])
    with time_machine.travel(START, tick=False):
        case = start_case(engine, "krankande_behandling", pupil_id=school.pupil, by=school.users["teacher"])
    [task] = ready_tasks(engine, case.id)
    assert (task.bpmn_id, task.assignee_id) == ("Task_kb_anmalan_rektor", school.users["teacher"])


FR = {**rs.FR, "Task_fr_kontakt_vh": {}}


def walk_until(engine, school, routine: str, answers: dict, stop_at: str):
    """Start a case and do its open tasks, one at a time, until `stop_at` is open; return that task."""
    case = start_case(engine, routine, pupil_id=school.pupil, by=school.users[rs.STARTER[routine]])
    while True:
        ready = ready_tasks(engine, case.id)
        found = [t for t in ready if t.bpmn_id == stop_at]
        if found:
            return found[0]
        task = ready[0]
        data = form_data(task_info(engine, task)["form"], answer_for(answers, task.bpmn_id, 0), school)
        user = rs.assignee(task.bpmn_id, rs.STARTER[routine]) or rs.LANE_USER[task.role]
        complete_task(engine, task.id, data, by=school.users[user])


def test_an_absence_investigation_cannot_leave_out_the_samrad(engine):
    """7 kap. 19 a §: "unless unnecessary" is about whether to investigate; the investigation itself is
    always made together with the pupil, the guardians and elevhälsan."""
    school = build_school(engine, ["franvaro"])
    with time_machine.travel(START, tick=False):
        task = walk_until(engine, school, "franvaro", FR, "Task_fr_utredning")
        data = form_data(task_info(engine, task)["form"], {}, school)
        investigator = school.users["skolpsykolog"]
        for left_out in ("fr_samrad_elev_datum", "fr_samrad_vardnadshavare_datum",
                         "fr_samrad_elevhalsan_datum"):
            with pytest.raises(FormValidationError) as refused:
                complete_task(engine, task.id, {k: v for k, v in data.items() if k != left_out},
                              by=investigator)
            assert left_out in refused.value.errors
        without = {k: v for k, v in data.items() if not k.startswith("fr_samrad")}
        with pytest.raises(FormValidationError):
            complete_task(engine, task.id, {**without, "fr_samrad": "uppenbart_obehovligt",
                                        "fr_samrad_skal": "Känd orsak"}, by=investigator)
        complete_task(engine, task.id, data, by=investigator)


def test_the_decision_not_to_investigate_needs_its_reason(engine):
    school = build_school(engine, ["franvaro"])
    with time_machine.travel(START, tick=False):
        task = walk_until(engine, school, "franvaro", FR, "Task_fr_starta_utredning")
        with pytest.raises(FormValidationError) as refused:
            complete_task(engine, task.id, {"fr_utreds": "obehovligt"}, by=school.users["rektor"])
        assert "fr_obehovligt_skal" in refused.value.errors
        with pytest.raises(FormValidationError) as refused:
            complete_task(engine, task.id, {"fr_utreds": "utreds"}, by=school.users["rektor"])
        assert {"fr_utredare", "fr_utredning_startad_datum"} <= set(refused.value.errors)
        complete_task(engine, task.id, {"fr_utreds": "obehovligt",
                                        "fr_obehovligt_skal": "Orsaken är åtgärdad"},
                      by=school.users["rektor"])
    assert ready_tasks(engine, task.case_id) == []


def test_the_organiser_informs_the_home_municipality_of_an_investigation_it_is_not_(engine):
    school = build_school(engine, ["franvaro"])
    with time_machine.travel(START, tick=False):
        task = walk_until(engine, school, "franvaro", FR, "Task_fr_utredning")
        [organiser] = [t for t in ready_tasks(engine, task.case_id) if t.bpmn_id == "Task_fr_huvudman"]
        data = {"fr_huvudman_registrerad_datum": START.date().isoformat(), "fr_annan_hemkommun": True}
        with pytest.raises(FormValidationError) as refused:
            complete_task(engine, organiser.id, data, by=school.users["huvudman"])
        assert {"fr_hemkommun", "fr_hemkommun_informerad_datum"} <= set(refused.value.errors)
        complete_task(engine, organiser.id, {**data, "fr_hemkommun": "Solna",
                                         "fr_hemkommun_informerad_datum": START.date().isoformat()},
                      by=school.users["huvudman"])
    assert get_task(engine, organiser.id).data["fr_hemkommun"] == "Solna"


# ----------------------------------------------------------------------------------------------- the texts
def _texts(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(PROCESSES)): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.suffix in (".md", ".json", ".bpmn")}


def test_no_routine_speaks_of_kunskapskrav_any_more():
    """Kunskapskrav gave way to betygskriterier and kriterier för bedömning av kunskaper (2022)."""
    assert [name for name, body in _texts(PROCESSES).items() if re.search("kunskapskrav", body, re.I)] == []


def test_each_reporting_routine_cites_the_sections_it_implements():
    readme = {r: (PROCESSES / r / "README.md").read_text(encoding="utf-8")
              for r in ("orosanmalan", "krankande_behandling", "franvaro", "avvikelse")}
    assert "29 kap. 13 § skollagen" in readme["orosanmalan"]
    assert "socialtjänstlagen (2025:400)" in readme["orosanmalan"]
    assert "6 kap. 10 §" in readme["krankande_behandling"]
    assert "7 kap. 19 a §" in readme["franvaro"] and "hemkommun" in readme["franvaro"]
    assert "uppenbart obehövligt" not in readme["franvaro"]
    assert "2 kap. 25 §" in readme["avvikelse"] and "29 kap. 13 §" not in readme["avvikelse"]


# ------------------------------------------------------------------------------- what deploy checks of it
def _orosanmalan(old: str, new: str) -> tuple[dict, dict]:
    files, forms = read_folder(PROCESSES / "orosanmalan")
    assert old in files["orosanmalan.bpmn"]
    files["orosanmalan.bpmn"] = files["orosanmalan.bpmn"].replace(old, new)
    return files, forms


def test_a_routine_naming_an_unknown_role_as_reader_is_refused():
    files, forms = _orosanmalan('name="visibleTo" value="Rektor"',
                                'name="visibleTo" value="Rektor, Trollkarl"')
    with pytest.raises(DefinitionError) as refused:
        validate(files, {}, forms)
    assert [p.message for p in refused.value.problems] == [
        "visibleTo names 'Trollkarl', which is not a known role"]


def test_a_personal_task_must_say_whose_it_is():
    files, forms = _orosanmalan('<spiffworkflow:property name="assigneeFrom" value="startad_av" />', "")
    with pytest.raises(DefinitionError) as refused:
        validate(files, {}, forms)
    assert [(p.element_id, p.message) for p in refused.value.problems] == [
        ("Task_oro_anmalan", "a personal task must name who it goes to (assigneeFrom, e.g. startad_av)")]


def test_the_shipped_routines_name_their_readers():
    files, forms = read_folder(PROCESSES / "orosanmalan")
    assert validate(files, {}, forms).readers == {"orosanmalan": frozenset({"rektor"})}
    files, forms = read_folder(PROCESSES / "krankande_behandling")
    assert validate(files, {}, forms).readers["krankande_behandling"] == DEFAULT_READERS["pupil"]
    files, forms = read_folder(PROCESSES / "arshjul")  # a unit-level case: only the rektor by default
    assert validate(files, {}, forms).readers["arshjul"] == DEFAULT_READERS["unit"] == frozenset({"rektor"})
