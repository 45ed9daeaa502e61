"""A user's own drafts, follow-up dates and saved filters."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from conftest import REPORT
from sqlalchemy import func, select

from elevflow.engine import (
    ConflictError,
    DataNotJSONError,
    NotFoundError,
    NotVisibleError,
    PermissionDeniedError,
    cancel_case,
    complete_task,
    delete_draft,
    delete_filter,
    filters_for,
    follow_ups_due,
    list_tasks,
    load_draft,
    save_draft,
    save_filter,
    set_follow_up,
    start_case,
)
from elevflow.engine.org import records as org
from elevflow.engine.runtime.scheduler import run_once
from elevflow.engine.storage.models import FollowUp, TaskDraft


@pytest.fixture
def task(engine, people, chain):
    """The open report task (Lärare lane) of a new case."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    return list_tasks(engine, case_id=case.id, state="ready")[0]


@pytest.fixture
def teacher2(engine, people):
    with engine.db.write() as s:
        user = org.add_user(s, "teacher2", "Teacher2")
        org.assign_role(s, user.id, people.unit, "larare")
    return user.id


def test_a_draft_is_its_authors_alone_and_never_validated(engine, people, task):
    half = {"anmalan_datum": "igår", "beskrivning": "Läser"}  # would fail the form: a draft may
    save_draft(engine, task.id, people.teacher, half)
    save_draft(engine, task.id, people.mentor, {"beskrivning": "Mentorns version"})
    assert load_draft(engine, task.id, people.teacher) == half
    assert load_draft(engine, task.id, people.mentor) == {"beskrivning": "Mentorns version"}
    assert load_draft(engine, task.id, people.rektor) is None
    save_draft(engine, task.id, people.teacher, {"beskrivning": "Ny text"})  # replaces the last one
    assert load_draft(engine, task.id, people.teacher) == {"beskrivning": "Ny text"}
    delete_draft(engine, task.id, people.teacher)
    assert load_draft(engine, task.id, people.teacher) is None
    assert load_draft(engine, task.id, people.mentor) == {"beskrivning": "Mentorns version"}


def test_only_someone_who_may_complete_the_task_may_keep_a_draft_of_it(engine, people, task):
    for user in (people.specialpedagog, people.rektor, people.outsider):
        with pytest.raises(PermissionDeniedError):
            save_draft(engine, task.id, user, {"beskrivning": "x"})
    with pytest.raises(NotFoundError):
        save_draft(engine, "00000000-0000-0000-0000-000000000000", people.teacher, {})


def test_a_draft_must_be_a_json_object(engine, people, task):
    with pytest.raises(DataNotJSONError, match="amnen"):
        save_draft(engine, task.id, people.teacher, {"amnen": {"sv", "ma"}})
    with pytest.raises(DataNotJSONError):
        save_draft(engine, task.id, people.teacher, {"datum": date(2026, 1, 12)})
    with pytest.raises(TypeError):
        save_draft(engine, task.id, people.teacher, ["inte", "ett", "objekt"])  # type: ignore[arg-type]
    assert load_draft(engine, task.id, people.teacher) is None


def working_aids(engine, task_id) -> int:
    """How many drafts and follow-up dates are stored for a task."""
    with engine.db.read() as s:
        return (s.scalar(select(func.count()).select_from(TaskDraft).where(TaskDraft.task_id == task_id))
                + s.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.task_id == task_id)))


def test_completing_a_task_deletes_its_drafts_and_follow_ups_in_the_same_step(engine, people, task):
    save_draft(engine, task.id, people.teacher, {"beskrivning": "utkast"})
    save_draft(engine, task.id, people.mentor, {"beskrivning": "utkast"})
    set_follow_up(engine, task.id, people.teacher, "2026-01-20")
    assert working_aids(engine, task.id) == 3
    complete_task(engine, task.id, REPORT, by=people.teacher)
    assert working_aids(engine, task.id) == 0  # no housekeeping round needed
    assert load_draft(engine, task.id, people.teacher) is None
    with pytest.raises(ConflictError, match="already completed"):
        save_draft(engine, task.id, people.teacher, {"beskrivning": "för sent"})


def investigation(engine, people, when):
    """The open investigation (Specialpedagog lane, two-week boundary timer) of a case started at `when`,
    with a draft and a follow-up date on it."""
    with time_machine.travel(when, tick=False):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT,
                      by=people.teacher)
        task = list_tasks(engine, case_id=case.id, state="ready")[0]
        save_draft(engine, task.id, people.specialpedagog, {"bedomning": "halvfärdig"})
        set_follow_up(engine, task.id, people.specialpedagog, "2026-12-01")
    assert working_aids(engine, task.id) == 2
    return task


def test_a_task_cancelled_by_its_boundary_timer_loses_its_drafts_in_the_timers_step(engine, people, chain):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    task = investigation(engine, people, start)
    with time_machine.travel(start + timedelta(days=15), tick=False):
        assert run_once(engine).timers == 1
    assert list_tasks(engine, case_id=task.case_id, state="cancelled")[0].id == task.id
    assert working_aids(engine, task.id) == 0


def test_a_cancelled_cases_open_tasks_lose_their_drafts(engine, people, chain):
    task = investigation(engine, people, datetime.now(timezone.utc))
    cancel_case(engine, task.case_id, by=people.rektor, reason="Eleven har flyttat")
    assert working_aids(engine, task.id) == 0


def test_follow_ups_come_due_on_their_date_for_open_tasks_of_visible_cases(engine, people, task, chain):
    set_follow_up(engine, task.id, people.teacher, date(2026, 1, 20))
    set_follow_up(engine, task.id, people.rektor, "2026-02-01")
    assert follow_ups_due(engine, people.teacher, date(2026, 1, 19)) == []
    [due] = follow_ups_due(engine, people.teacher, "2026-01-20")
    assert (due.task_id, due.case_id, due.task_name, due.on_date) == (task.id, task.case_id, task.name,
                                                                       "2026-01-20")
    assert due.due_at == task.due_at
    assert follow_ups_due(engine, people.rektor, "2026-01-31") == []
    set_follow_up(engine, task.id, people.teacher, "2026-01-25")  # moved
    assert follow_ups_due(engine, people.teacher, "2026-01-20") == []
    set_follow_up(engine, task.id, people.teacher, None)  # removed
    assert follow_ups_due(engine, people.teacher, "2026-12-31") == []
    with pytest.raises(NotVisibleError):
        set_follow_up(engine, task.id, people.outsider, "2026-01-20")
    with pytest.raises(ValueError, match="not a date"):
        set_follow_up(engine, task.id, people.teacher, "20 januari")
    complete_task(engine, task.id, REPORT, by=people.teacher)
    assert follow_ups_due(engine, people.rektor, "2026-12-31") == []  # the task is done


def test_a_filter_is_shared_only_with_a_role_its_owner_holds_at_the_owners_units(engine, people, teacher2):
    mine = save_filter(engine, people.teacher, "Mina försenade", {"overdue": True})
    shared = save_filter(engine, people.teacher, "Lärarnas anmälningar", {"routine": "sarskilt_stod"},
                         shared_with_role="larare")
    assert [(f.id, f.own) for f in filters_for(engine, people.teacher)] == [(shared, True), (mine, True)]
    assert [(f.id, f.owner_name, f.own) for f in filters_for(engine, teacher2)] == [(shared, "Teacher",
                                                                                     False)]
    assert filters_for(engine, people.outsider) == []  # a teacher, but at another unit
    assert filters_for(engine, people.mentor) == []  # another role
    with pytest.raises(PermissionDeniedError, match="only with a role you hold"):
        save_filter(engine, people.teacher, "Rektors", {}, shared_with_role="rektor")
    with pytest.raises(ValueError, match="unknown role"):
        save_filter(engine, people.teacher, "X", {}, shared_with_role="vaktmästare")
    with pytest.raises(DataNotJSONError):
        save_filter(engine, people.teacher, "X", {"since": date(2026, 1, 1)})
    with pytest.raises(ValueError, match="name"):
        save_filter(engine, people.teacher, "  ", {})
    assert save_filter(engine, people.teacher, "Mina försenade", {"overdue": False}) == mine  # same name
    assert next(f for f in filters_for(engine, people.teacher) if f.id == mine).query == {"overdue": False}
    with pytest.raises(PermissionDeniedError):
        delete_filter(engine, shared, teacher2)
    delete_filter(engine, shared, people.teacher)
    assert filters_for(engine, teacher2) == []
    with pytest.raises(NotFoundError):
        delete_filter(engine, shared, people.teacher)
