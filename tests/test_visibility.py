"""Need-to-know: who sees which case, every look logged, the medical zone and protected identities."""
from __future__ import annotations

import pytest
from bpmn_builder import FORM, one_task
from conftest import REPORT
from sqlalchemy import func, select, update

from elevflow.engine import (
    NotVisibleError,
    PermissionDeniedError,
    access_history,
    can_view_case,
    case_timeline,
    complete_task,
    deploy,
    list_tasks,
    open_case,
    release_medical,
    start_case,
    task_data_for,
    verify_audit,
    visible_cases,
)
from elevflow.engine.org import records as org
from elevflow.engine.oversight.visibility import PROTECTED_NAME, WITHHELD
from elevflow.engine.storage.models import AccessLogEntry, AuditEvent, Pupil, TaskRow, User
from elevflow.engine.work.assignment import claim


@pytest.fixture
def staff(engine, people):
    """Beyond `people`: a second teacher, the huvudman and the school nurse at the unit, and the other
    unit's rektor."""
    ids = {}
    with engine.db.write() as s:
        for username, role, unit in [("teacher2", "larare", people.unit),
                                     ("huvudman", "huvudman", people.unit),
                                     ("nurse", "skolskoterska", people.unit),
                                     ("rektor_b", "rektor", people.other_unit)]:
            user = org.add_user(s, username, username.title(), f"{username}@example.se")
            org.assign_role(s, user.id, unit, role)
            ids[username] = user.id
    return {**vars(people), **ids}


def ready(engine, case_id):
    return list_tasks(engine, case_id=case_id, state="ready")


def running_case(engine, people) -> int:
    """Reported by the teacher; now waiting for the specialpedagog's investigation."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    return case.id


def finished_case(engine, people) -> int:
    case_id = running_case(engine, people)
    complete_task(engine, ready(engine, case_id)[0].id, {"behov": "nej"}, by=people.specialpedagog)
    return case_id


def log_rows(engine, **where):
    with engine.db.read() as s:
        query = select(AccessLogEntry).order_by(AccessLogEntry.id)
        for key, value in where.items():
            query = query.where(getattr(AccessLogEntry, key) == value)
        return list(s.scalars(query))


MATRIX = {  # who -> (sees the running case, sees the finished case)
    "rektor": (True, True),
    "specialpedagog": (True, True),  # the student health team
    "teacher": (True, True),  # started the case and did its first task
    "teacher2": (False, False),  # a teacher at the same unit with no part in it
    "outsider": (False, False),  # a teacher at another unit
    "huvudman": (False, False),  # the routine never involves the huvudman
}


@pytest.mark.parametrize("who", MATRIX)
def test_the_visibility_matrix_and_every_look_is_logged(engine, people, chain, staff, who):
    running, finished = running_case(engine, people), finished_case(engine, people)
    user = staff[who]
    expected = dict(zip((running, finished), MATRIX[who], strict=True))
    for case_id, sees in expected.items():
        assert can_view_case(engine, user, case_id) is sees
        if sees:
            view = open_case(engine, user, case_id)
            assert view.id == case_id and view.pupil_name == "Alva Andersson" and view.unit_name == "Ekskolan"
        else:
            with pytest.raises(PermissionDeniedError, match="does not exist, or you may not see it"):
                open_case(engine, user, case_id)
        [row] = log_rows(engine, user_id=user, case_id=case_id)
        assert (row.allowed, row.action, row.pupil_id, row.unit_id) == (sees, "view_case", people.pupil,
                                                                        people.unit)
    assert {c.id for c in visible_cases(engine, user)} == {c for c, sees in expected.items() if sees}
    assert {c.id for c in visible_cases(engine, user, status="completed")} == {finished} & {
        c for c, sees in expected.items() if sees}


def test_an_open_task_in_a_lane_shows_its_case_to_that_lane_until_someone_takes_it(engine, people, chain,
                                                                                   staff):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert can_view_case(engine, staff["teacher2"], case.id) and can_view_case(engine, people.mentor, case.id)
    assert not can_view_case(engine, people.outsider, case.id)
    claim(engine, ready(engine, case.id)[0].id, by=people.mentor)
    assert not can_view_case(engine, staff["teacher2"], case.id)
    assert can_view_case(engine, people.mentor, case.id)  # it is assigned to the mentor now
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.mentor)
    assert can_view_case(engine, people.mentor, case.id)  # and the mentor did it


def test_a_missing_case_and_a_refused_one_give_the_same_answer_and_both_are_logged(engine, people, chain):
    case_id = running_case(engine, people)
    with pytest.raises(NotVisibleError) as refused:
        open_case(engine, people.outsider, case_id)
    with pytest.raises(NotVisibleError) as missing:
        open_case(engine, people.outsider, 999_999)
    assert str(refused.value).replace(str(case_id), "N") == str(missing.value).replace("999999", "N")
    assert [(r.case_id, r.allowed) for r in log_rows(engine, user_id=people.outsider)] == [(case_id, False),
                                                                                        (999_999, False)]


def test_a_deactivated_user_sees_nothing(engine, people, chain):
    case_id = running_case(engine, people)
    with engine.db.write() as s:
        s.execute(update(User).where(User.id == people.rektor).values(active=False))
    assert not can_view_case(engine, people.rektor, case_id) and visible_cases(engine, people.rektor) == []


def test_the_huvudman_sees_cases_whose_routine_involves_the_huvudman(engine, people, staff):
    deploy(engine, {"h.bpmn": one_task(lane="Huvudman", key="huvudmannen")}, {"svar.json": FORM})
    case = start_case(engine, "huvudmannen", pupil_id=people.pupil, by=people.rektor)
    assert can_view_case(engine, staff["huvudman"], case.id)
    complete_task(engine, ready(engine, case.id)[0].id, {"svar": "registrerat"}, by=staff["huvudman"])
    assert can_view_case(engine, staff["huvudman"], case.id)  # finished: still theirs to follow up


def test_an_overdue_task_escalated_to_the_huvudman_shows_them_the_case(engine, people, chain, staff):
    case_id = running_case(engine, people)
    assert not can_view_case(engine, staff["huvudman"], case_id)
    with engine.db.write() as s:
        s.execute(update(TaskRow).where(TaskRow.case_id == case_id, TaskRow.state == "ready")
                  .values(notice_level=3))
    assert can_view_case(engine, staff["huvudman"], case_id)


def test_only_the_pupils_rektor_sees_who_opened_the_pupils_cases(engine, people, chain, staff):
    case_id = running_case(engine, people)
    open_case(engine, people.specialpedagog, case_id)
    with pytest.raises(NotVisibleError):
        open_case(engine, staff["teacher2"], case_id)
    for asker in (people.teacher, people.specialpedagog, staff["rektor_b"]):
        with pytest.raises(PermissionDeniedError, match="only the rektor"):
            access_history(engine, people.pupil, asked_by=asker)
    history = access_history(engine, people.pupil, asked_by=people.rektor)  # newest first; refusals too
    assert [(e.user_name, e.action, e.allowed) for e in history] == [
        ("Rektor", "view_access_history", True), ("Rektor_B", "view_access_history", False),
        ("Specialpedagog", "view_access_history", False), ("Teacher", "view_access_history", False),
        ("Teacher2", "view_case", False), ("Specialpedagog", "view_case", True)]
    assert history[-1].case_id == case_id and history[0].case_id is None
    asks = log_rows(engine, action="view_access_history")
    assert [(r.user_id, r.allowed) for r in asks] == [(people.teacher, False), (people.specialpedagog, False),
                                                      (staff["rektor_b"], False), (people.rektor, True)]


def test_the_timeline_tells_the_case_to_those_who_may_see_it(engine, people, chain):
    """Kinds and parameters: the web says them in the reader's language (tests/web/test_timeline.py)."""
    case_id = running_case(engine, people)
    entries = case_timeline(engine, people.rektor, case_id)
    said = [(e.actor_name, e.kind, e.params["task"]) for e in entries]
    assert said[:3] == [("Teacher", "case_started", None), ("Teacher", "task_created", "Anmäl till rektor"),
                        ("Teacher", "task_completed", "Anmäl till rektor")]
    assert ("Teacher", "task_created", "Utred behovet") in said
    with pytest.raises(NotVisibleError):
        case_timeline(engine, people.outsider, case_id)


# --- the medical zone ------------------------------------------------------------------------------------

@pytest.fixture
def nurse_case(engine, people, staff):
    """A case whose one task, in the school nurse's lane, recorded something."""
    deploy(engine, {"m.bpmn": one_task(lane="Skolsköterska", key="halsa")}, {"svar.json": FORM})
    case = start_case(engine, "halsa", pupil_id=people.pupil, by=staff["nurse"])
    [task] = ready(engine, case.id)
    complete_task(engine, task.id, {"svar": "Hälsosamtal: uppgifter om hälsa"}, by=staff["nurse"])
    return task.id


def test_what_the_medical_part_recorded_is_held_back_until_released(engine, people, staff, nurse_case):
    for user in (people.rektor, people.specialpedagog):
        [entry] = open_case(engine, user, list_tasks(engine, state="completed")[0].case_id).tasks
        assert entry.medical and entry.withheld and entry.data is None
        held = task_data_for(engine, user, nurse_case)
        assert held.withheld and held.data is None and held.message == WITHHELD
    assert task_data_for(engine, staff["nurse"],
                         nurse_case).data == {"svar": "Hälsosamtal: uppgifter om hälsa"}
    assert [r.action for r in log_rows(engine, user_id=staff["nurse"])] == ["view_task"]

    with pytest.raises(PermissionDeniedError, match="school nurse or school doctor"):
        release_medical(engine, nurse_case, people.rektor, "Vårdnadshavarna samtycker")
    with pytest.raises(ValueError, match="reason"):
        release_medical(engine, nurse_case, staff["nurse"], "  ")
    assert release_medical(engine, nurse_case, staff["nurse"], "Vårdnadshavarna samtycker 2026-01-10") is True
    assert release_medical(engine, nurse_case, staff["nurse"], "igen") is False
    shown = task_data_for(engine, people.specialpedagog, nurse_case)
    assert not shown.withheld and shown.data == {"svar": "Hälsosamtal: uppgifter om hälsa"}
    with engine.db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.kind == "medical_released")).all()
    assert event.actor_id == staff["nurse"] and event.data["task_id"] == str(nurse_case)
    assert "samtycker" not in str(event.data)  # the reason stays in medical_releases, out of the log
    assert verify_audit(engine).ok
    assert ("medical_released", "Uppgift Task_1") in [
        (e.kind, e.params["task"]) for e in case_timeline(engine, people.rektor, event.case_id)]


def test_a_task_outside_the_medical_lane_cannot_be_released(engine, people, chain, staff):
    case_id = finished_case(engine, people)
    task = list_tasks(engine, case_id=case_id)[0]
    with pytest.raises(ValueError, match="not a task of the medical part"):
        release_medical(engine, task.id, staff["nurse"], "skäl")
    assert task_data_for(engine, people.rektor, task.id).data == REPORT


# --- protected identity ----------------------------------------------------------------------------------

def test_a_protected_pupil_is_named_only_to_the_rektor_and_those_with_a_part_in_the_case(engine, people,
                                                                                         chain):
    case_id = finished_case(engine, people)
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(protected_identity=True))
    for user, named in [(people.rektor, True), (people.teacher, True), (people.specialpedagog, True)]:
        view = open_case(engine, user, case_id)  # the specialpedagog did the investigation
        assert (view.pupil_name, view.pupil_class) == (("Alva Andersson", "7B") if named else
                                                       (PROTECTED_NAME, None))
    with engine.db.write() as s:  # an EHT member without a task in the case
        kurator = org.add_user(s, "kurator", "Kurator")
        org.assign_role(s, kurator.id, people.unit, "kurator")
    view = open_case(engine, kurator.id, case_id)
    assert (view.pupil_name, view.pupil_class, view.protected_identity) == (PROTECTED_NAME, None, True)
    for user in (people.rektor, kurator.id):  # lists never name a protected pupil
        [line] = visible_cases(engine, user)
        assert (line.pupil_name, line.pupil_class) == (PROTECTED_NAME, None)


def test_opening_a_case_costs_one_log_row_and_shows_its_tasks(engine, people, chain):
    case_id = running_case(engine, people)
    with engine.db.read() as s:
        before = s.scalar(select(func.count()).select_from(AccessLogEntry))
    statements = engine.db.stats.statements
    view = open_case(engine, people.rektor, case_id)
    assert engine.db.stats.statements - statements == 2  # the check and the insert, on the bare connection
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) == before + 1
    assert [(t.name, t.state, t.completed_by_name) for t in view.tasks] == [
        ("Anmäl till rektor", "completed", "Teacher"), ("Utred behovet", "ready", None)]
    assert view.tasks[0].data == REPORT and view.routine_name == "Stödkedja (test)"
