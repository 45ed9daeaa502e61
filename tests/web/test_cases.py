"""The case page, Mina ärenden and the rektor's access history: need-to-know, the access log, a protected
identity, the diagram with its markers, and the signed decision's PDF."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from elevflow.engine import complete_task, list_tasks, sign_decision, start_case
from elevflow.engine.org import passwords
from elevflow.engine.org import records as org
from elevflow.engine.storage.models import AccessLogEntry, Pupil, TaskRow

from .conftest import PASSWORD, csrf, login, post, text

CSRF_VALUE = re.compile(r'(?<=csrf-token" content=")[^"]+|(?<="X-CSRFToken": ")[^"]+'
                        r'|(?<=name="csrf_token" value=")[^"]+')

REPORT = {"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt och tappar fokus."}
DECISION = {"beslut": "atgardsprogram", "motivering": "Utredningen visar behov av särskilt stöd."}


def ready(engine, case_id):
    return list_tasks(engine, case_id=case_id, state="ready")


@pytest.fixture
def case_id(engine, people, chain):
    """A stodkedja case the teacher started and reported in; it waits on the specialpedagog now, so a
    mentor at the unit (who serves the Lärare lane only) has no part in it."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    return case.id


@pytest.fixture
def signed(engine, people, case_id):
    """The case at its decision, signed by the rektor: (case id, decision id)."""
    complete_task(engine, ready(engine, case_id)[0].id, {"behov": "ja", "bedomning": "Behov finns."},
                  by=people.specialpedagog)
    [task] = ready(engine, case_id)
    done = sign_decision(engine, task.id, DECISION, by=people.rektor,
                         reauthenticated_at=datetime.now(timezone.utc))
    return case_id, done.decision_id


def signed_in(app, username):
    """A new browser session, logged in as `username`."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def log_rows(engine, user_id, action="view_case"):
    with engine.db.read() as s:
        return [(r.case_id, r.allowed) for r in s.scalars(
            select(AccessLogEntry).where(AccessLogEntry.user_id == user_id, AccessLogEntry.action == action)
            .order_by(AccessLogEntry.id))]


def test_the_timeline_says_the_way_a_gateway_went_in_the_reader_s_language(app, engine, people, case_id):
    complete_task(engine, ready(engine, case_id)[0].id, {"behov": "ja", "bedomning": "Behov finns."},
                  by=people.specialpedagog)
    client = signed_in(app, "rektor")
    html = text(client.get(f"/arenden/{case_id}"))
    assert "Vägval ”Behov av särskilt stöd?”: ”Ja”, vidare till ”Besluta om åtgärdsprogram”" in html
    assert "Uppgiften ”Utred behovet” skapades" in html and "Ärendet startades" in html
    post(client, "/sprak", {"lang": "en"})
    html = text(client.get(f"/arenden/{case_id}"))
    assert "Decision point ”Behov av särskilt stöd?”: ”Ja”, on to ”Besluta om åtgärdsprogram”" in html
    assert "The task ”Utred behovet” was created" in html and "The case was started" in html
    assert "Ärendet startades" not in html and "skapades" not in html


@pytest.mark.parametrize("persona", ["rektor", "specialpedagog", "teacher"])
def test_the_unit_s_rektor_its_student_health_and_a_participant_see_the_case(app, engine, people, case_id,
                                                                             persona):
    client = signed_in(app, persona)
    page = client.get(f"/arenden/{case_id}")
    assert page.status_code == 200
    html = text(page)
    assert "Alva Andersson (7B)" in html and "Ekskolan" in html and "Teacher" in html  # pupil, unit, starter
    assert "Pågår" in html and "Utred behovet" in html  # status, and the open task with its link
    assert f'href="/uppgifter/{ready(engine, case_id)[0].id}"' in html
    assert "Ärendet startades" in html and "slutfördes" in html  # the timeline
    assert "Läser långsamt" in html  # the completed task's data
    assert log_rows(engine, getattr(people, persona)) == [(case_id, True)]


@pytest.mark.parametrize("persona", ["mentor", "outsider"])
def test_a_teacher_without_a_part_and_one_at_another_school_get_404_and_a_logged_refusal(
        app, engine, people, case_id, persona):
    client = signed_in(app, persona)
    refused = client.get(f"/arenden/{case_id}")
    missing = client.get("/arenden/999999")
    assert refused.status_code == missing.status_code == 404
    # nothing tells a case that exists from one that does not (but the page's own address, and the
    # CSRF token, which carries the second it was made)
    def same(page: str, path: str) -> str:
        return CSRF_VALUE.sub("TOKEN", page.replace(path, ""))

    assert same(text(refused), f"/arenden/{case_id}") == same(text(missing), "/arenden/999999")
    assert "Alva" not in text(refused)
    assert log_rows(engine, getattr(people, persona)) == [(case_id, False), (999999, False)]
    assert client.get(f"/arenden/{case_id}/diagram.bpmn").status_code == 404


def test_a_protected_identity_is_shown_as_such(app, engine, people, case_id):
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(protected_identity=True))
    client = signed_in(app, "specialpedagog")  # sees the case, but is not one who may see the name
    html = text(client.get(f"/arenden/{case_id}"))
    assert "Skyddad identitet" in html and "Alva" not in html and "7B" not in html
    assert "Skyddad identitet" in text(client.get("/arenden")) and "Alva" not in text(client.get("/arenden"))
    client = signed_in(app, "rektor")
    assert "Alva Andersson" in text(client.get(f"/arenden/{case_id}"))


def test_the_diagram_and_where_the_case_stands(app, engine, case_id):
    client = signed_in(app, "rektor")
    html = text(client.get(f"/arenden/{case_id}"))
    assert 'data-completed="Task_anmalan"' in html and 'data-current="Task_utredning"' in html
    assert 'data-src="/arenden/%d/diagram.bpmn"' % case_id in html
    assert "/static/case.js" in html and "/static/diagram.js" in html
    assert "bpmn-navigated-viewer.production.min.js" in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
    diagram = client.get(f"/arenden/{case_id}/diagram.bpmn")
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    body = text(diagram)
    assert 'id="stodkedja"' in body and 'id="Task_anmalan"' in body


def test_a_signed_decision_is_downloaded_and_logged(app, engine, people, signed):
    case_id, decision_id = signed
    client = signed_in(app, "rektor")
    html = text(client.get(f"/arenden/{case_id}"))
    link = f"/arenden/{case_id}/beslut/{decision_id}.pdf"
    assert link in html and "Beslutet" in html  # the decision and its signing in the timeline
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    disposition = pdf.headers["Content-Disposition"]
    assert "attachment" in disposition and "Alva" not in disposition
    assert log_rows(engine, people.rektor, "download_document") == [(case_id, True)]
    assert client.get(f"/arenden/{case_id + 1}/beslut/{decision_id}.pdf").status_code == 404  # wrong case
    client = signed_in(app, "outsider")
    assert client.get(link).status_code == 404
    assert log_rows(engine, people.outsider, "download_document") == [(case_id, False)]


def test_mina_arenden_lists_the_visible_cases_and_is_in_the_menu(app, engine, people, case_id):
    other = start_case(engine, "stodkedja", pupil_id=people.other_pupil, by=people.outsider)
    client = signed_in(app, "rektor")
    html = text(client.get("/arenden"))
    assert f'href="/arenden/{case_id}"' in html and f'href="/arenden/{other.id}"' not in html
    assert 'href="/arenden" aria-current="page"' in html
    client = signed_in(app, "mentor")
    assert f'href="/arenden/{case_id}"' not in text(client.get("/arenden"))
    assert "Du har inga ärenden att se." in text(client.get("/arenden?status=running"))


def test_the_task_page_logs_the_look_and_links_to_the_case(app, engine, people, case_id):
    [task] = ready(engine, case_id)
    client = signed_in(app, "specialpedagog")
    html = text(client.get(f"/uppgifter/{task.id}"))
    assert f'href="/arenden/{case_id}"' in html
    assert log_rows(engine, people.specialpedagog, "view_task") == [(case_id, True)]
    client = signed_in(app, "outsider")
    assert client.get(f"/uppgifter/{task.id}").status_code == 404
    assert log_rows(engine, people.outsider, "view_task") == [(case_id, False)]


def test_only_the_rektor_sees_who_opened_the_pupil_s_cases(app, engine, people, case_id):
    client = signed_in(app, "specialpedagog")
    client.get(f"/arenden/{case_id}")
    for persona in ("teacher", "specialpedagog", "mentor", "outsider"):
        client = signed_in(app, persona)
        assert client.get(f"/elever/{people.pupil}/atkomst").status_code == 404, persona
    client = signed_in(app, "rektor")
    assert f'href="/elever/{people.pupil}/atkomst"' in text(client.get(f"/arenden/{case_id}"))
    page = client.get(f"/elever/{people.pupil}/atkomst")
    assert page.status_code == 200
    html = text(page)
    assert "Specialpedagog" in html and "Öppnade ärendet" in html and "Tillåten" in html
    assert "Nekad" in html  # the refused tries to see the history are there too
    assert client.get(f"/elever/{people.other_pupil}/atkomst").status_code == 404
    assert client.get("/elever/999999/atkomst").status_code == 404


def test_a_refused_user_with_a_password_elsewhere_learns_nothing(app, engine, people, case_id):
    with engine.db.write() as s:  # a school nurse at the other school: an EHT role, but not at this unit
        nurse = org.add_user(s, "nurse", "Nurse", "nurse@example.se")
        org.assign_role(s, nurse.id, people.other_unit, "skolskoterska")
    passwords.set_password(engine, "nurse", PASSWORD)
    client = signed_in(app, "nurse")
    assert client.get(f"/arenden/{case_id}").status_code == 404
    assert log_rows(engine, nurse.id) == [(case_id, False)]


def test_what_the_medical_part_recorded_shows_the_placeholder(app, engine, people, case_id):
    with engine.db.write() as s:  # let the completed report stand for a school nurse's record
        s.execute(update(TaskRow).where(TaskRow.case_id == case_id, TaskRow.state == "completed")
                  .values(role="skolskoterska"))
    client = signed_in(app, "rektor")
    html = text(client.get(f"/arenden/{case_id}"))
    assert "Läser långsamt" not in html and "visas bara för skolsköterska och skolläkare" in html
    client.post("/sprak", data={"lang": "en", "csrf_token": csrf(client, f"/arenden/{case_id}")})
    english = text(client.get(f"/arenden/{case_id}"))
    assert "shown only to the school nurse" in english and "Where the case stands" in english


def test_the_school_nurse_releases_a_medical_record_into_the_case_and_then_others_see_it(
        app, engine, people, case_id):
    with engine.db.write() as s:
        s.execute(update(TaskRow).where(TaskRow.case_id == case_id, TaskRow.state == "completed")
                  .values(role="skolskoterska"))
        nurse = org.add_user(s, "skoterska", "Sara Sköterska", "sara@example.se")
        org.assign_role(s, nurse.id, people.unit, "skolskoterska")
    passwords.set_password(engine, "skoterska", PASSWORD)
    [task] = list_tasks(engine, case_id=case_id, state="completed")
    rektor = signed_in(app, "rektor")
    assert "Lämna ut uppgifterna" not in text(rektor.get(f"/arenden/{case_id}"))
    refused = rektor.post(f"/arenden/{case_id}/uppgifter/{task.id}/lamna-ut",
                          data={"grund": "Samtycke", "csrf_token": csrf(rektor, f"/arenden/{case_id}")})
    assert refused.status_code == 403
    sister = signed_in(app, "skoterska")
    page = text(sister.get(f"/arenden/{case_id}"))
    assert "Läser långsamt" in page and "Lämna ut uppgifterna" in page
    empty = sister.post(f"/arenden/{case_id}/uppgifter/{task.id}/lamna-ut",
                        data={"grund": " ", "csrf_token": csrf(sister, f"/arenden/{case_id}")})
    assert empty.status_code == 302 and "Skriv vad utlämnandet grundar sig på" in text(
        sister.get(f"/arenden/{case_id}"))
    assert "Läser långsamt" not in text(rektor.get(f"/arenden/{case_id}"))
    done = sister.post(f"/arenden/{case_id}/uppgifter/{task.id}/lamna-ut",
                       data={"grund": "Vårdnadshavarnas samtycke 2026-11-20",
                             "csrf_token": csrf(sister, f"/arenden/{case_id}")})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/arenden/{case_id}#genomforda")
    shown = text(rektor.get(f"/arenden/{case_id}"))
    assert "Läser långsamt" in shown and "har lämnat ut uppgifterna" in shown
    assert "Beskrivning av svårigheterna" in shown  # labelled with the form's own field titles


def test_the_case_page_says_in_words_which_step_the_case_is_at_and_who_it_waits_for(client, engine, people):
    from conftest import REPORT
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    login(client, "rektor")
    assert "Steg 1 av 1 hittills – väntar på Lärare" in text(client.get(f"/arenden/{case.id}"))
    complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT, by=people.teacher)
    page = text(client.get(f"/arenden/{case.id}"))
    steps = page.split('id="steps-heading"')[1].split("</ol>")[0]
    assert "Steg 2 av 2 hittills – väntar på Specialpedagog" in steps
    assert steps.index("Anmäl till rektor") < steps.index("Utred behovet")  # done first, then the open one
