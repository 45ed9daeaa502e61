"""A member of staff's own working aids in the web app: a draft of a form, a follow-up date with its ready
view, saved filters shared with a role, and choosing the person a later step goes to."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import routine_scenarios as rs
from sqlalchemy import func, select
from test_routines import build_school, form_data, next_step

from elevflow.engine import complete_task, get_task, list_tasks, start_case
from elevflow.engine.org import passwords
from elevflow.engine.org import records as org
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage.models import SavedFilter
from elevflow.engine.views import drafts
from elevflow.webui import close_app, create_app

from .conftest import PASSWORD, SECRET, csrf, login, post, text


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_a_draft_is_saved_unvalidated_shown_again_and_only_to_its_author(app, engine, open_task):
    teacher = signed_in(app, "teacher")
    saved = teacher.post(f"/uppgifter/{open_task.id}", data={
        "csrf_token": csrf(teacher, f"/uppgifter/{open_task.id}"), "_action": "utkast",
        "f.beskrivning": "kort"})  # too short to complete: a draft does not care
    assert saved.status_code == 302 and saved.headers["Location"] == f"/uppgifter/{open_task.id}"
    again = text(teacher.get(f"/uppgifter/{open_task.id}"))
    assert "Utkastet är sparat" in again and ">kort</textarea>" in again and "Utkast sparat" in again
    assert get_task(engine, open_task.id).state == "ready"
    mentor = signed_in(app, "mentor")  # a colleague in the same lane sees an empty form
    assert ">kort</textarea>" not in text(mentor.get(f"/uppgifter/{open_task.id}"))


def test_a_follow_up_date_shows_in_the_ready_view_on_its_day(app, engine, open_task):
    teacher = signed_in(app, "teacher")
    assert "Att följa upp i dag" in text(teacher.get("/uppgifter"))
    today = date.today()
    later = post(teacher, f"/uppgifter/{open_task.id}/uppfoljning", {"datum": (today + timedelta(days=2))
                                                                     .isoformat()})
    assert later.status_code == 302
    assert "Anmäl till rektor" not in text(teacher.get("/uppgifter?uppfoljning=1"))
    post(teacher, f"/uppgifter/{open_task.id}/uppfoljning", {"datum": today.isoformat()})
    due_today = text(teacher.get("/uppgifter?uppfoljning=1"))
    assert "Anmäl till rektor" in due_today and f"Följ upp {today.isoformat()}" in due_today
    bad = post(teacher, f"/uppgifter/{open_task.id}/uppfoljning", {"datum": "i morgon"})
    assert bad.status_code == 302 and "ÅÅÅÅ-MM-DD" in text(teacher.get(f"/uppgifter/{open_task.id}"))
    assert [f.task_id for f in drafts.follow_ups_due(engine, open_task.assignee_id or 1,
                                                     today)] == [open_task.id]
    post(teacher, f"/uppgifter/{open_task.id}/uppfoljning", {"datum": ""})
    assert "Anmäl till rektor" not in text(teacher.get("/uppgifter?uppfoljning=1"))


def test_a_saved_filter_shared_with_a_role_reaches_its_holders_at_the_unit_only(app, engine, people,
                                                                                open_task):
    with engine.db.write() as s:  # a second teacher at the unit, and the outsider is a teacher elsewhere
        colleague = org.add_user(s, "kollega", "Kollega Lärare", "kollega@example.se")
        org.assign_role(s, colleague.id, people.unit, "larare")
    passwords.set_password(engine, "kollega", PASSWORD)
    teacher = signed_in(app, "teacher")
    saved = post(teacher, "/uppgifter/filter", {"namn": "Försenat hos oss", "forfallo": "forsenade",
                                                "dela_med": "larare"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/uppgifter?forfallo=forsenade"
    own = text(teacher.get("/uppgifter"))
    assert "Försenat hos oss" in own and "delat med: Lärare" in own
    assert "Försenat hos oss" in text(signed_in(app, "kollega").get("/uppgifter"))
    assert "Försenat hos oss" not in text(signed_in(app, "outsider").get("/uppgifter"))
    assert "Försenat hos oss" not in text(signed_in(app, "rektor").get("/uppgifter"))
    refused = post(teacher, "/uppgifter/filter", {"namn": "Till rektorerna", "dela_med": "rektor"})
    assert refused.status_code == 302 and "bara dela ett filter med en roll som du själv har" in text(
        teacher.get("/uppgifter"))
    with engine.db.read() as s:
        filter_id = s.scalar(select(SavedFilter.id))
        assert s.scalar(select(func.count()).select_from(SavedFilter)) == 1
    assert post(signed_in(app, "kollega"), f"/uppgifter/filter/{filter_id}/ta-bort").status_code == 403
    assert post(teacher, f"/uppgifter/filter/{filter_id}/ta-bort").status_code == 302
    assert "Försenat hos oss" not in text(teacher.get("/uppgifter"))


def test_the_inbox_filters_by_routine_and_unit_in_the_database(app, engine, people, open_task):
    teacher = signed_in(app, "teacher")
    assert "Anmäl till rektor" in text(teacher.get("/uppgifter?rutin=stodkedja"))
    assert "Anmäl till rektor" not in text(teacher.get("/uppgifter?rutin=nagot_annat"))
    assert "Anmäl till rektor" in text(teacher.get(f"/uppgifter?enhet={people.unit}"))
    assert "Anmäl till rektor" not in text(teacher.get(f"/uppgifter?enhet={people.other_unit}"))


def test_a_field_naming_a_person_offers_the_people_the_lane_serves_at_the_unit(engine, db_url,
                                                                                 workers):
    """In särskilt stöd the rektor names who investigates: a choice among the unit's specialpedagoger
    (the lane the investigation's tasks are in), not a user id to type — and nobody else, as the engine
    would hand the task to nobody else (#13)."""
    school = build_school(engine, ["sarskilt_stod"])
    for username in rs.PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    scenario = next(s for s in rs.SCENARIOS if "Task_utse_utredare" in s.path)
    starter = school.users[rs.STARTER["sarskilt_stod"]]
    case = start_case(engine, "sarskilt_stod", pupil_id=school.pupil, by=starter)
    seen: dict = {}
    visits: Counter = Counter()
    while True:
        ready = list_tasks(engine, case_id=case.id, state="ready")
        if ready[0].bpmn_id == "Task_utse_utredare":
            break
        task, answer = next_step(scenario, ready, seen, visits)
        user = rs.ASSIGNED.get(task.bpmn_id) or scenario.by.get(task.bpmn_id) or rs.LANE_USER[task.role]
        complete_task(engine, task.id, form_data(task_info(engine, task)["form"], answer, school),
                      by=school.users[user])
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
    try:
        client = app.test_client()
        assert login(client, rs.LANE_USER["rektor"]).status_code == 302
        page = text(client.get(f"/uppgifter/{ready[0].id}"))
    finally:
        close_app(app)
    field = page.split('name="f.utredare"')[1].split("</select>")[0]
    offered = re.findall(r'<option value="(\d+)"', field)
    assert offered == [str(school.users["specialpedagog"])] and "Specialpedagog (Specialpedagog)" in field


def test_a_long_worklist_is_shown_fifty_at_a_time_soonest_due_first(app, engine, people, chain):
    for _ in range(53):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    teacher = signed_in(app, "teacher")
    first = text(teacher.get("/uppgifter?rutin=stodkedja"))
    assert first.count('href="/uppgifter/') - first.count('href="/uppgifter/filter') >= 50
    assert "50 uppgifter" in first and "Nästa sida" in first and "Föregående sida" not in first
    assert 'href="/uppgifter?sida=2&amp;rutin=stodkedja"' in first or \
        'href="/uppgifter?rutin=stodkedja&amp;sida=2"' in first
    second = text(teacher.get("/uppgifter?rutin=stodkedja&sida=2"))
    assert "3 uppgifter" in second and "Föregående sida" in second and "Nästa sida" not in second
    ids = lambda page: set(re.findall(r'<a href="/uppgifter/([0-9a-f-]{36})">', page))  # noqa: E731
    assert len(ids(first)) == 50 and len(ids(second)) == 3 and not ids(first) & ids(second)
