"""Mina uppgifter: what the inbox shows, its markers, filters and sorting, and claiming and releasing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import func, select, update

from elevflow.engine import start_case
from elevflow.engine.runtime import tasks
from elevflow.engine.storage.models import Pupil, SavedFilter, TaskRow
from elevflow.engine.work.notify import local_date

from .conftest import login, post, text


def test_the_inbox_shows_routine_step_pupil_unit_and_due_date(client, open_task):
    login(client, "teacher")
    page = text(client.get("/uppgifter"))
    assert "Anmäl till rektor" in page and "Stödkedja (test)" in page and "Ekskolan" in page
    assert "Alva Andersson (7B)" in page and "Ingen ännu" in page
    assert f'<time datetime="{local_date(open_task.due_at)}">' in page
    assert f'action="/uppgifter/{open_task.id}/ta"' in page


def test_overdue_and_soon_due_tasks_are_marked_in_words(client, open_task):
    def body() -> str:
        login(client, "teacher")
        page = text(client.get("/uppgifter"))
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/logga-ut", data={"csrf_token": token})
        return page.split("<tbody>")[1]

    now = body()
    assert "Försenad" not in now and "Förfaller snart" not in now
    with time_machine.travel(open_task.due_at - timedelta(days=1), tick=False):
        soon = body()
        assert "Förfaller snart" in soon and 'class="due-soon"' in soon
    with time_machine.travel(open_task.due_at + timedelta(minutes=1), tick=False):
        late = body()
        assert "Försenad" in late and 'class="overdue"' in late


def test_a_pupil_with_a_protected_identity_is_not_named_in_the_inbox(client, engine, open_task):
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == open_task.pupil_id).values(protected_identity=True))
    login(client, "teacher")
    page = text(client.get("/uppgifter"))
    assert "Alva" not in page and "Elev med skyddade personuppgifter" in page


def test_filters_and_ready_made_views(client, engine, people, open_task):
    second = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    second_task = tasks.list_tasks(engine, case_id=second.id, state="ready")[0]
    with engine.db.write() as s:  # the second one is overdue and taken by the mentor
        s.execute(update(TaskRow).where(TaskRow.id == second_task.id).values(
            due_at=datetime.now(timezone.utc) - timedelta(days=1), assignee_id=people.teacher))
    login(client, "teacher")

    def rows(query: str) -> int:
        page = text(client.get("/uppgifter" + query))
        return page.split("<tbody>")[1].count("<tr") if "<tbody>" in page else 0

    assert rows("") == 2
    assert rows("?forfallo=forsenade") == 1
    assert rows("?ej_tagna=1") == 1
    assert rows("?rutin=stodkedja") == 2 and rows("?rutin=annat") == 0
    assert rows(f"?enhet={people.unit}") == 2 and rows(f"?enhet={people.other_unit}") == 0
    page = text(client.get("/uppgifter?sortera=forfallo"))
    assert page.index(str(second_task.id)) < page.index(str(open_task.id))  # the overdue one first
    assert "Inga uppgifter matchar urvalet." in text(client.get("/uppgifter?rutin=annat"))
    overdue = text(client.get("/uppgifter?forfallo=forsenade"))
    assert 'href="/uppgifter?forfallo=forsenade" aria-current="page"' in overdue


def test_claim_and_release(client, make_app, engine, people, open_task):
    login(client, "teacher")
    taken = post(client, f"/uppgifter/{open_task.id}/ta", {"next": "/uppgifter?ej_tagna=1"})
    assert taken.headers["Location"] == "/uppgifter?ej_tagna=1"
    assert tasks.get_task(engine, open_task.id).assignee_id == people.teacher
    page = text(client.get("/uppgifter"))
    assert "Du har tagit uppgiften" in page and f'action="/uppgifter/{open_task.id}/slapp"' in page
    mentor = make_app().test_client()
    login(mentor, "mentor")
    assert str(open_task.id) not in text(mentor.get("/uppgifter"))  # gone from the others' inboxes
    assert post(mentor, f"/uppgifter/{open_task.id}/ta").status_code == 302
    assert "Någon annan har redan tagit uppgiften" in text(mentor.get("/uppgifter"))
    assert post(mentor, f"/uppgifter/{open_task.id}/slapp").status_code == 403
    assert post(client, f"/uppgifter/{open_task.id}/slapp").status_code == 302
    assert tasks.get_task(engine, open_task.id).assignee_id is None
    assert str(open_task.id) in text(mentor.get("/uppgifter"))


def test_the_rektor_may_release_a_task_someone_took(make_app, engine, people, open_task):
    teacher = make_app().test_client()
    login(teacher, "teacher")
    post(teacher, f"/uppgifter/{open_task.id}/ta")
    rektor = make_app().test_client()
    login(rektor, "rektor")
    assert post(rektor, f"/uppgifter/{open_task.id}/slapp").status_code == 302
    assert tasks.get_task(engine, open_task.id).assignee_id is None


def test_a_role_the_lane_does_not_serve_cannot_claim(make_app, engine, open_task):
    client = make_app().test_client()
    login(client, "specialpedagog")
    assert str(open_task.id) not in text(client.get("/uppgifter"))
    assert post(client, f"/uppgifter/{open_task.id}/ta").status_code == 403
    assert tasks.get_task(engine, open_task.id).assignee_id is None


def test_nul_characters_and_huge_numbers_in_filters_are_refused_or_ignored(client, engine, open_task):
    login(client, "teacher")
    for query in ("?rutin=stod%00kedja", "?enhet=99999999999999999999999"):
        page = client.get("/uppgifter" + query)
        assert page.status_code == 200 and str(open_task.id) in text(page)  # the part that is no filter
    for name in ("Mina\x00uppgifter", "Två\nrader"):
        saved = post(client, "/uppgifter/filter", {"namn": name, "rutin": "stodkedja"}, follow_redirects=True)
        assert saved.status_code == 200 and "Filtrets namn får bara innehålla vanliga tecken" in text(saved)
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(SavedFilter)) == 0
