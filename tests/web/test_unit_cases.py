"""Cases without a pupil on the web (issue 12 point 9): a unit-level routine (the årshjul, an avvikelse)
is started for one of the user's school units, never for a pupil; its task page, case page, inbox row
and case list say it has no pupil; only the unit's rektor and those its lanes serve see it, and every
look, refused or not, is logged without a pupil."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from elevflow.engine import deploy_path, get_case, list_tasks
from elevflow.engine.org import passwords
from elevflow.engine.org import records as org
from elevflow.engine.storage.models import AccessLogEntry, Case

from .conftest import PASSWORD, login, post, text

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
UNIT_ONLY = "Ingen elev – skolenhetens ärende"


@pytest.fixture
def unit_routines(engine, people):
    """The årshjul and the avvikelse deployed, and a kurator at the pupil's unit (the Elevhälsopersonal
    lane) who can log in."""
    for routine in ("arshjul", "avvikelse"):
        deploy_path(engine, PROCESSES / routine, shared_dir=PROCESSES / "shared")
    with engine.db.write() as s:
        kurator = org.add_user(s, "kurator", "Kurator", "kurator@example.se")
        org.assign_role(s, kurator.id, people.unit, "kurator")
    passwords.set_password(engine, "kurator", PASSWORD)
    return kurator.id


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def cases_in_db(engine) -> list[Case]:
    with engine.db.read() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def looks(engine, case_id):
    with engine.db.read() as s:
        return [(r.user_id, r.pupil_id, r.unit_id, r.action, r.allowed) for r in s.scalars(
            select(AccessLogEntry).where(AccessLogEntry.case_id == case_id).order_by(AccessLogEntry.id))]


def test_the_rektor_starts_the_arshjul_for_the_unit_and_its_pages_name_no_pupil(app, engine, people,
                                                                               unit_routines):
    client = signed_in(app, "rektor")
    page = text(client.get("/elever"))
    assert "Ärenden för skolenheten" in page
    unit_form = page[page.index('id="unit-heading"'):]
    assert "Årshjul för elevhälsoarbetet" in unit_form and "Avvikelserapportering" in unit_form
    assert "Stödkedja" not in unit_form  # a pupil's routine is not offered for the unit

    started = post(client, "/skolenhet/starta", {"rutin": "arshjul", "enhet": str(people.unit)},
                   token_from="/elever")
    [case] = cases_in_db(engine)
    assert (case.process_key, case.pupil_id, case.unit_id, case.started_by) == \
        ("arshjul", None, people.unit, people.rektor)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    assert started.headers["Location"] == f"/uppgifter/{task.id}"  # the rektor plans the year first
    task_page = text(client.get(started.headers["Location"]))
    assert "Planera årshjulet" in task_page and UNIT_ONLY in task_page

    case_page = client.get(f"/arenden/{case.id}")
    assert case_page.status_code == 200
    body = text(case_page)
    assert UNIT_ONLY in body and "Ekskolan" in body
    assert "Vem har öppnat elevens ärenden" not in body  # there is no pupil whose history it would be
    assert UNIT_ONLY in text(client.get("/arenden"))
    assert UNIT_ONLY in text(client.get("/uppgifter"))
    assert (people.rektor, None, people.unit, "view_case", True) in looks(engine, case.id)


def test_a_teacher_at_the_unit_and_a_teacher_of_another_unit_may_not_see_the_arshjul(app, engine, people,
                                                                                    unit_routines):
    rektor = signed_in(app, "rektor")
    post(rektor, "/skolenhet/starta", {"rutin": "arshjul", "enhet": str(people.unit)}, token_from="/elever")
    [case] = cases_in_db(engine)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    for username in ("teacher", "outsider"):
        client = signed_in(app, username)
        assert client.get(f"/arenden/{case.id}").status_code == 404
        assert client.get(f"/uppgifter/{task.id}").status_code == 404
        assert UNIT_ONLY not in text(client.get("/arenden"))
    refused = [(u, p, unit, action) for u, p, unit, action, allowed in looks(engine, case.id) if not allowed]
    assert refused == [(people.teacher, None, people.unit, "view_case"),
                       (people.teacher, None, people.unit, "view_task"),
                       (people.outsider, None, people.unit, "view_case"),
                       (people.outsider, None, people.unit, "view_task")]


def test_a_unit_level_routine_is_not_started_for_a_pupil_nor_for_another_units_school(app, engine, people,
                                                                                     unit_routines):
    teacher = signed_in(app, "teacher")
    refused = post(teacher, f"/elever/{people.pupil}/starta", {"rutin": "avvikelse", "q": "Alva"},
                   token_from="/elever")
    assert refused.headers["Location"] == "/elever?q=Alva"
    assert "Välj vilken rutin som ska startas." in text(teacher.get("/elever?q=Alva"))
    pupil_form = text(teacher.get("/elever?q=Alva"))
    pupil_form = pupil_form[pupil_form.index('id="rutin-'):pupil_form.index('id="unit-heading"')]
    assert "Avvikelserapportering" not in pupil_form and "Stödkedja" in pupil_form

    outsider = signed_in(app, "outsider")  # works at the other unit only
    assert post(outsider, "/skolenhet/starta", {"rutin": "avvikelse", "enhet": str(people.unit)},
                token_from="/elever").status_code == 404
    assert post(teacher, "/skolenhet/starta", {"rutin": "stodkedja", "enhet": str(people.unit)},
                token_from="/elever").headers["Location"] == "/elever"
    assert cases_in_db(engine) == []


def test_an_avvikelse_started_on_the_web_refuses_a_personnummer_and_is_the_teams(app, engine, people,
                                                                               unit_routines):
    teacher = signed_in(app, "teacher")  # anyone at the unit may start one; the team describes it
    started = post(teacher, "/skolenhet/starta", {"rutin": "avvikelse", "enhet": str(people.unit)},
                   token_from="/elever")
    assert started.headers["Location"] == "/uppgifter"
    [case] = cases_in_db(engine)
    assert get_case(engine, case.id).pupil_id is None
    assert teacher.get(f"/arenden/{case.id}").status_code == 200  # the one who started it

    kurator = signed_in(app, "kurator")
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    page = text(kurator.get(f"/uppgifter/{task.id}"))
    assert "Skriv inga namn, personnummer" in page and UNIT_ONLY in page
    form = {"f.avv_datum": "2026-11-20", "f.avv_parter": "bup",
            "f.avv_beskrivning": "BUP har inte svarat på remissen för eleven 20100314-1234."}
    refused = post(kurator, f"/uppgifter/{task.id}", form, token_from=f"/uppgifter/{task.id}")
    assert "till exempel ett personnummer" in text(refused)
    assert [t.id for t in list_tasks(engine, case_id=case.id, state="ready")] == [task.id]
    done = post(kurator, f"/uppgifter/{task.id}", {**form, "f.avv_beskrivning": "BUP har inte svarat."},
                token_from=f"/uppgifter/{task.id}")
    assert done.status_code == 302
    assert [t.bpmn_id for t in list_tasks(engine, case_id=case.id, state="ready")] == ["Task_avv_bedom"]
    assert signed_in(app, "rektor").get(f"/arenden/{case.id}").status_code == 200
    assert signed_in(app, "mentor").get(f"/arenden/{case.id}").status_code == 404
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)
                        .where(AccessLogEntry.case_id == case.id, AccessLogEntry.pupil_id.is_not(None))) == 0
