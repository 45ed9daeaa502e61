"""Signing a decision in the web app: the password again, the decision record and its PDF, refusals that
change nothing, and the rule that a decision is only ever completed by signing it."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

from elevflow.engine import complete_task, get_task, list_tasks, start_case
from elevflow.engine.errors import PermissionDeniedError
from elevflow.engine.storage.models import DecisionRecord
from elevflow.engine.work import assignment

from .conftest import PASSWORD, csrf, login, text

REPORT = {"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt och tappar fokus."}
ANSWER = {"f.beslut": "atgardsprogram", "f.motivering": "Utredningen visar behov av särskilt stöd."}


@pytest.fixture
def decision(engine, people, chain):
    """A stodkedja case waiting on the rektor's decision."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT, by=people.teacher)
    complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id,
                  {"behov": "ja", "bedomning": "Behov finns."}, by=people.specialpedagog)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    return task


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def sign(client, task, **extra):
    page = text(client.get(f"/uppgifter/{task.id}"))
    version = page.split('name="_row_version" value="')[1].split('"')[0]
    return client.post(f"/uppgifter/{task.id}", data={
        "csrf_token": csrf(client, f"/uppgifter/{task.id}"), "_row_version": version, **ANSWER, **extra})


def records(engine) -> int:
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(DecisionRecord))


def test_the_rektor_signs_with_the_password_and_lands_on_the_case_with_its_pdf(app, engine, decision):
    client = signed_in(app, "rektor")
    page = text(client.get(f"/uppgifter/{decision.id}"))
    assert 'name="_password"' in page and "Signera beslutet" in page and "Slutför uppgiften" not in page
    done = sign(client, decision, _sign="1", _password=PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == f"/arenden/{decision.case_id}#beslut"
    assert get_task(engine, decision.id).state == "completed" and records(engine) == 1
    case_page = text(client.get(f"/arenden/{decision.case_id}"))
    assert "Beslutet är signerat" in case_page and "Beslut om åtgärdsprogram (PDF)" in case_page
    with engine.db.read() as s:
        decision_id = s.scalar(select(DecisionRecord.id))
    pdf = client.get(f"/arenden/{decision.case_id}/beslut/{decision_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert hashlib.sha256(pdf.data).hexdigest() in case_page  # the page shows the document's checksum


@pytest.mark.parametrize("password, message", [
    ("", "Bekräfta att det är du genom att skriva ditt lösenord."),
    ("fel lösenord", "Lösenordet stämmer inte. Beslutet är inte signerat."),
])
def test_without_the_right_password_nothing_is_signed_and_the_form_keeps_what_was_written(
        app, engine, decision, password, message):
    client = signed_in(app, "rektor")
    refused = sign(client, decision, _sign="1", _password=password)
    assert refused.status_code == 422 and message in text(refused)
    assert "Utredningen visar behov av särskilt stöd." in text(refused)
    assert get_task(engine, decision.id).state == "ready" and records(engine) == 0


def test_a_decision_cannot_be_completed_as_an_ordinary_task(app, engine, decision):
    client = signed_in(app, "rektor")
    refused = sign(client, decision)  # no _sign, no password: still treated as signing
    assert refused.status_code == 422 and get_task(engine,
                                                   decision.id).state == "ready" and records(engine) == 0


def hand_to_specialpedagog(engine, people, task, delegated: str) -> None:
    """A written delegation of `delegated` decisions to the specialpedagog, and the rektor hands them the
    decision task."""
    assignment.grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                                decision=delegated, document="Delegationsordning 2026, punkt 4",
                                by=people.rektor)
    assignment.reassign(engine, task.id, to=people.specialpedagog, by=people.rektor,
                        reason="Delegerat beslut")


def test_a_delegate_signs_under_a_written_delegation_and_the_record_names_it(app, engine, people, decision):
    hand_to_specialpedagog(engine, people, decision, "atgardsprogram")
    done = sign(signed_in(app, "specialpedagog"), decision, _sign="1", _password=PASSWORD)
    assert done.status_code == 302 and records(engine) == 1
    with engine.db.read() as s:
        delegation = s.scalar(select(DecisionRecord.delegation_id))
    assert delegation is not None
    case_page = text(signed_in(app, "rektor").get(f"/arenden/{decision.case_id}"))
    assert f"med stöd av delegation nr {delegation}" in case_page


def test_a_delegation_for_another_kind_of_decision_does_not_let_one_sign(app, engine, people, decision):
    with pytest.raises(PermissionDeniedError, match="no written delegation for 'atgardsprogram'"):
        hand_to_specialpedagog(engine, people, decision, "ej_atgardsprogram")  # nor be handed the task (#13)
    client = signed_in(app, "specialpedagog")
    assert client.get(f"/uppgifter/{decision.id}").status_code in (403, 404)
    refused = client.post(f"/uppgifter/{decision.id}", data={"csrf_token": csrf(client, "/uppgifter"),
                                                              "_sign": "1", "_password": PASSWORD})
    assert refused.status_code in (403, 404)
    assert get_task(engine, decision.id).state == "ready" and records(engine) == 0


def test_the_decision_page_shows_what_the_decision_rests_on_and_logs_the_look(app, engine, people, decision):
    from elevflow.engine.storage.models import AccessLogEntry
    page = text(signed_in(app, "rektor").get(f"/uppgifter/{decision.id}"))
    basis = page.split("Underlag för beslutet")[1].split("Signera beslutet")[0]
    assert "Läser långsamt och tappar fokus." in basis and "Behov finns." in basis
    with engine.db.read() as s:
        details = s.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.user_id == people.rektor,
                                                                AccessLogEntry.action == "view_case")).all()
    assert details == ["beslutsunderlag"]


def pdf_title(pdf: bytes) -> str:
    """The document title a PDF's information dictionary holds (fpdf2 writes it as UTF-16 hex)."""
    found = re.search(rb"/Title <feff([0-9a-f]+)>", pdf)
    assert found, "the PDF has no title"
    return bytes.fromhex(found.group(1).decode()).decode("utf-16-be")


def test_the_decision_can_be_previewed_as_a_draft_before_signing_and_nothing_is_stored(app, engine, decision):
    client = signed_in(app, "rektor")
    page = text(client.get(f"/uppgifter/{decision.id}"))
    assert "Förhandsgranska beslutet (PDF)" in page
    preview = sign(client, decision, _action="forhandsgranska")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert preview.headers["Content-Disposition"].startswith('inline; filename="utkast-beslut-')
    assert pdf_title(preview.data) == "UTKAST – INTE SIGNERAT: Beslut om åtgärdsprogram"
    assert get_task(engine, decision.id).state == "ready" and records(engine) == 0
    teacher = signed_in(app, "teacher")  # not someone who may sign it: no preview either
    refused = teacher.post(f"/uppgifter/{decision.id}", data={
        "csrf_token": csrf(teacher, "/uppgifter"), "_action": "forhandsgranska", **ANSWER})
    assert refused.status_code in (403, 404)


def test_names_put_into_translated_text_are_escaped(app, engine, people, decision):
    from sqlalchemy import update

    from elevflow.engine.storage.models import User
    with engine.db.write() as s:
        s.execute(update(User).where(User.id == people.rektor).values(name="<script>alert(1)</script>"))
    client = signed_in(app, "rektor")
    assert sign(client, decision, _sign="1", _password=PASSWORD).status_code == 302
    page = text(client.get(f"/arenden/{decision.case_id}"))
    assert "signerat av &lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
