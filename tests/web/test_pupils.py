"""Elever: searching pupils only at one's own units, and starting a routine for one."""
from __future__ import annotations

from sqlalchemy import func, select, update

from elevflow.engine.org import records as org
from elevflow.engine.storage.models import Case, Pupil

from .conftest import login, post, text


def test_pupils_are_found_by_name_or_class_at_ones_own_units_only(client, engine, people):
    with engine.db.write() as s:
        org.add_pupil(s, people.unit, "Åsa", "Öberg", "9C")
    login(client, "teacher")
    assert "Alva" in text(client.get("/elever?q=alva"))
    assert "Alva" in text(client.get("/elever?q=Alva Andersson"))
    assert "Alva" in text(client.get("/elever?q=7b"))
    assert "Öberg" in text(client.get("/elever?q=ås")) and "Öberg" in text(client.get("/elever?q=ÖBERG"))
    other = text(client.get("/elever?q=Berg"))  # Bo Berg goes to the other unit
    assert "Bo Berg" not in other and "1 elev hittades" in other and "Öberg" in other
    assert "0 elever hittades" in text(client.get("/elever?q=8A"))
    assert "Skriv minst två tecken." in text(client.get("/elever?q=A"))
    assert "0 elever hittades" in text(client.get("/elever?q=%25%25"))  # % is searched for, not a wildcard


def test_an_outsider_finds_only_their_own_units_pupils(make_app, people):
    client = make_app().test_client()
    login(client, "outsider")
    assert "Bo" in text(client.get("/elever?q=Berg"))
    assert "0 elever hittades" in text(client.get("/elever?q=Andersson"))


def test_pupils_with_a_protected_identity_or_who_left_are_not_listed(client, engine, people):
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(protected_identity=True))
    login(client, "teacher")
    assert "0 elever hittades" in text(client.get("/elever?q=Alva"))


def test_a_case_cannot_be_started_for_another_units_pupil(client, engine, people):
    login(client, "teacher")
    refused = post(client, f"/elever/{people.other_pupil}/starta", {"rutin": "stodkedja"},
                   token_from="/elever")
    assert refused.status_code == 404
    assert post(client, "/elever/999999/starta", {"rutin": "stodkedja"}).status_code == 404
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_a_routine_must_be_chosen_among_the_deployed_ones(client, engine, people):
    login(client, "teacher")
    response = post(client, f"/elever/{people.pupil}/starta", {"rutin": "not_deployed", "q": "Alva"})
    assert response.headers["Location"] == "/elever?q=Alva"
    assert "Välj vilken rutin som ska startas." in text(client.get("/elever?q=Alva"))
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_when_the_first_task_is_someone_elses_the_starter_goes_to_the_inbox(make_app, engine, people):
    client = make_app().test_client()
    login(client, "rektor")  # the rektor may start the case but the first step is the teachers'
    response = post(client, f"/elever/{people.pupil}/starta", {"rutin": "stodkedja"})
    assert response.headers["Location"] == "/uppgifter"
    assert "har startats" in text(client.get("/uppgifter"))


def test_a_search_holding_a_nul_character_finds_nobody_instead_of_failing(client):
    login(client, "teacher")
    response = client.get("/elever?q=Al%00va")
    assert response.status_code == 200 and "0 elever hittades" in text(response)


def test_the_pupil_page_shows_their_cases_one_may_see_with_who_does_what_next(client, engine, people):
    from elevflow.engine import start_case
    from elevflow.engine.storage.models import AccessLogEntry
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    login(client, "teacher")
    page = text(client.get(f"/elever/{people.pupil}"))
    assert "Alva Andersson" in page and "(7B)" in page and f"#{case.id}" in page
    running = page.split("Pågående ärenden")[1].split("Avslutade ärenden")[0]
    assert "Anmäl till rektor" in running and "Lärare" in running  # the open step and its lane
    with engine.db.read() as s:
        looks = s.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.case_id == case.id)).all()
    assert looks == ["elevsida"]  # the case's content was read for the page: logged
    # the pupil's name leads there from the case list, which is searchable by name or class
    listed = text(client.get("/arenden?q=7b"))
    assert f'href="/elever/{people.pupil}"' in listed and f"#{case.id}" in listed
    assert f"#{case.id}" not in text(client.get("/arenden?q=Berg"))


def test_the_pupil_page_of_another_units_pupil_reads_as_none(client, engine, people):
    login(client, "teacher")
    assert client.get(f"/elever/{people.other_pupil}").status_code == 404
    assert client.get("/elever/999999").status_code == 404


def test_starting_a_routine_already_running_for_the_pupil_asks_first(client, engine, people):
    from elevflow.engine import start_case
    first = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    login(client, "teacher")
    warned = post(client, f"/elever/{people.pupil}/starta", {"rutin": "stodkedja"}, token_from="/elever")
    assert warned.status_code == 409
    assert "Det finns redan ett pågående ärende" in text(warned) and f"#{first.id}" in text(warned)
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1  # nothing started yet
    confirmed = post(client, f"/elever/{people.pupil}/starta", {"rutin": "stodkedja", "bekrafta": "1"},
                     token_from="/elever")
    assert confirmed.status_code == 302
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 2
