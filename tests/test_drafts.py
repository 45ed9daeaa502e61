"""A user's own drafts, follow-up dates and saved filters."""
from __future__ import annotations

from datetime import date

import pytest
from conftest import REPORT

from engine import (
    ConflictError,
    DataNotJSONError,
    NotFoundError,
    NotVisibleError,
    PermissionDeniedError,
    complete_task,
    delete_draft,
    delete_filter,
    filters_for,
    follow_ups_due,
    list_tasks,
    load_draft,
    org,
    purge_drafts,
    save_draft,
    save_filter,
    set_follow_up,
    start_case,
)


@pytest.fixture
def task(db, people, chain):
    """The open report task (Lärare lane) of a new case."""
    case = start_case(db, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    return list_tasks(db, case_id=case.id, state="ready")[0]


@pytest.fixture
def teacher2(db, people):
    with db.write() as s:
        user = org.add_user(s, "teacher2", "Teacher2")
        org.assign_role(s, user.id, people.unit, "larare")
    return user.id


def test_a_draft_is_its_authors_alone_and_never_validated(db, people, task):
    half = {"anmalan_datum": "igår", "beskrivning": "Läser"}  # would fail the form: a draft may
    save_draft(db, task.id, people.teacher, half)
    save_draft(db, task.id, people.mentor, {"beskrivning": "Mentorns version"})
    assert load_draft(db, task.id, people.teacher) == half
    assert load_draft(db, task.id, people.mentor) == {"beskrivning": "Mentorns version"}
    assert load_draft(db, task.id, people.rektor) is None
    save_draft(db, task.id, people.teacher, {"beskrivning": "Ny text"})  # replaces the last one
    assert load_draft(db, task.id, people.teacher) == {"beskrivning": "Ny text"}
    delete_draft(db, task.id, people.teacher)
    assert load_draft(db, task.id, people.teacher) is None
    assert load_draft(db, task.id, people.mentor) == {"beskrivning": "Mentorns version"}


def test_only_someone_who_may_complete_the_task_may_keep_a_draft_of_it(db, people, task):
    for user in (people.specialpedagog, people.rektor, people.outsider):
        with pytest.raises(PermissionDeniedError):
            save_draft(db, task.id, user, {"beskrivning": "x"})
    with pytest.raises(NotFoundError):
        save_draft(db, "00000000-0000-0000-0000-000000000000", people.teacher, {})


def test_a_draft_must_be_a_json_object(db, people, task):
    with pytest.raises(DataNotJSONError, match="amnen"):
        save_draft(db, task.id, people.teacher, {"amnen": {"sv", "ma"}})
    with pytest.raises(DataNotJSONError):
        save_draft(db, task.id, people.teacher, {"datum": date(2026, 1, 12)})
    with pytest.raises(TypeError):
        save_draft(db, task.id, people.teacher, ["inte", "ett", "objekt"])  # type: ignore[arg-type]
    assert load_draft(db, task.id, people.teacher) is None


def test_a_completed_tasks_drafts_are_ignored_and_purged(db, people, task):
    save_draft(db, task.id, people.teacher, {"beskrivning": "utkast"})
    save_draft(db, task.id, people.mentor, {"beskrivning": "utkast"})
    set_follow_up(db, task.id, people.teacher, "2026-01-20")
    complete_task(db, task.id, REPORT, by=people.teacher)
    assert load_draft(db, task.id, people.teacher) is None
    with pytest.raises(ConflictError, match="already completed"):
        save_draft(db, task.id, people.teacher, {"beskrivning": "för sent"})
    assert purge_drafts(db) == 3  # two drafts and a follow-up date
    assert purge_drafts(db) == 0


def test_follow_ups_come_due_on_their_date_for_open_tasks_of_visible_cases(db, people, task, chain):
    set_follow_up(db, task.id, people.teacher, date(2026, 1, 20))
    set_follow_up(db, task.id, people.rektor, "2026-02-01")
    assert follow_ups_due(db, people.teacher, date(2026, 1, 19)) == []
    [due] = follow_ups_due(db, people.teacher, "2026-01-20")
    assert (due.task_id, due.case_id, due.task_name, due.on_date) == (task.id, task.case_id, task.name,
                                                                       "2026-01-20")
    assert due.due_at == task.due_at
    assert follow_ups_due(db, people.rektor, "2026-01-31") == []
    set_follow_up(db, task.id, people.teacher, "2026-01-25")  # moved
    assert follow_ups_due(db, people.teacher, "2026-01-20") == []
    set_follow_up(db, task.id, people.teacher, None)  # removed
    assert follow_ups_due(db, people.teacher, "2026-12-31") == []
    with pytest.raises(NotVisibleError):
        set_follow_up(db, task.id, people.outsider, "2026-01-20")
    with pytest.raises(ValueError, match="not a date"):
        set_follow_up(db, task.id, people.teacher, "20 januari")
    complete_task(db, task.id, REPORT, by=people.teacher)
    assert follow_ups_due(db, people.rektor, "2026-12-31") == []  # the task is done


def test_a_filter_is_shared_only_with_a_role_its_owner_holds_at_the_owners_units(db, people, teacher2):
    mine = save_filter(db, people.teacher, "Mina försenade", {"overdue": True})
    shared = save_filter(db, people.teacher, "Lärarnas anmälningar", {"routine": "sarskilt_stod"},
                         shared_with_role="larare")
    assert [(f.id, f.own) for f in filters_for(db, people.teacher)] == [(shared, True), (mine, True)]
    assert [(f.id, f.owner_name, f.own) for f in filters_for(db, teacher2)] == [(shared, "Teacher", False)]
    assert filters_for(db, people.outsider) == []  # a teacher, but at another unit
    assert filters_for(db, people.mentor) == []  # another role
    with pytest.raises(PermissionDeniedError, match="only with a role you hold"):
        save_filter(db, people.teacher, "Rektors", {}, shared_with_role="rektor")
    with pytest.raises(ValueError, match="unknown role"):
        save_filter(db, people.teacher, "X", {}, shared_with_role="vaktmästare")
    with pytest.raises(DataNotJSONError):
        save_filter(db, people.teacher, "X", {"since": date(2026, 1, 1)})
    with pytest.raises(ValueError, match="name"):
        save_filter(db, people.teacher, "  ", {})
    assert save_filter(db, people.teacher, "Mina försenade", {"overdue": False}) == mine  # same name
    assert next(f for f in filters_for(db, people.teacher) if f.id == mine).query == {"overdue": False}
    with pytest.raises(PermissionDeniedError):
        delete_filter(db, shared, teacher2)
    delete_filter(db, shared, people.teacher)
    assert filters_for(db, teacher2) == []
    with pytest.raises(NotFoundError):
        delete_filter(db, shared, people.teacher)
