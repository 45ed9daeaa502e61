"""Elever: searching pupils only at one's own units, and starting a routine for one."""
from __future__ import annotations

from sqlalchemy import func, select, update

from engine.org import records as org
from engine.storage.models import Case, Pupil

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
