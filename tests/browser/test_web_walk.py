"""The web app in a real browser: staff in three roles walk a support case to its decision, a form is
refused with Swedish field errors, and a teacher at another school is turned away. Screenshots are
saved; with ELEVFLOW_UPDATE_SCREENSHOTS=1 the one the README shows (docs/images/uppgift.png) is
refreshed."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from elevflow.engine import get_case, list_tasks
from elevflow.engine.org import passwords

from .conftest import PASSWORD, ROOT, log_in, screenshot, serve


@pytest.fixture
def site(engine, db_url, people, chain) -> Iterator[str]:
    """The app served on a free local port, in a thread, on the test database."""
    for username in ("teacher", "specialpedagog", "rektor", "outsider"):
        passwords.set_password(engine, username, PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address


def log_out(page) -> None:
    page.context.clear_cookies()


def open_first_task(page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()
    page.wait_for_url("**/uppgifter/*")


def test_a_support_case_walked_across_roles_in_the_browser(page, site, engine, people):
    log_in(page, site, "teacher")
    screenshot(page, "web-inkorg-tom")
    page.goto(f"{site}/elever?q=Alva")
    page.get_by_label("Rutin för Alva Andersson").select_option("stodkedja")
    page.get_by_role("button", name="Starta").click()
    page.goto(f"{site}/uppgifter")
    assert page.get_by_text("Anmäl till rektor").count() >= 1
    open_first_task(page, "Anmäl till rektor")
    assert page.get_by_text("Beskriv svårigheterna.").count() == 1  # the step's instructions

    page.get_by_role("button", name="Slutför uppgiften").last.click()  # nothing filled in
    assert page.get_by_text("Formuläret behöver rättas").count() == 1
    assert page.locator("[aria-invalid=true]").count() >= 2
    shot = screenshot(page, "web-uppgift-fel")
    if os.environ.get("ELEVFLOW_UPDATE_SCREENSHOTS") == "1":  # refresh the README's picture
        (ROOT / "docs" / "images").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / "images" / "uppgift.png")

    page.get_by_label("Datum (obligatoriskt)", exact=True).fill("2026-11-20")
    page.get_by_label("Beskrivning av svårigheterna").fill("Läser långsamt och tappar fokus på lektionerna.")
    page.get_by_role("button", name="Slutför uppgiften").last.click()
    page.wait_for_url(f"{site}/uppgifter**")
    [case_id] = {t.case_id for t in list_tasks(engine, state="ready")}
    log_out(page)

    log_in(page, site, "specialpedagog")
    open_first_task(page, "Utred behovet")
    page.get_by_label("ja", exact=True).check()
    page.get_by_role("button", name="Slutför uppgiften").last.click()
    page.wait_for_url(f"{site}/uppgifter**")
    log_out(page)

    log_in(page, site, "rektor")
    screenshot(page, "web-inkorg-rektor")
    open_first_task(page, "Besluta om åtgärdsprogram")
    page.get_by_label("atgardsprogram", exact=True).check()
    page.get_by_label("Ditt lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Signera beslutet").last.click()
    page.wait_for_url(f"{site}/arenden/{case_id}**")
    assert get_case(engine, case_id).status == "completed"


def test_a_teacher_at_another_school_is_turned_away(page, site, engine, people, chain):
    from elevflow.engine import start_case
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    log_in(page, site, "outsider")
    response = page.goto(f"{site}/uppgifter/{task.id}")
    assert response.status in (403, 404)
    assert page.get_by_text("Alva").count() == 0
    response = page.goto(f"{site}/arenden/{case.id}")  # the case itself: the same refusal
    assert response.status == 404 and page.get_by_text("Alva").count() == 0
    assert page.goto(f"{site}/arenden/{case.id}/diagram.bpmn").status == 404
    page.goto(f"{site}/elever?q=Alva")
    assert page.get_by_text("Andersson").count() == 0
    screenshot(page, "web-annan-skola")


def test_claiming_in_the_inbox_updates_the_list_in_place(page, site, engine, people, chain):
    """With script, "Ta" sends the form through htmx and swaps in the new list and its message: the page
    itself stays (a value set on it survives)."""
    from elevflow.engine import start_case
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    log_in(page, site, "teacher")
    page.evaluate("window.elevflowMarker = 'still here'")
    page.get_by_role("button", name="Ta Anmäl till rektor").click()
    page.get_by_role("status").filter(has_text="Du har tagit uppgiften").wait_for()
    assert page.evaluate("window.elevflowMarker") == "still here"  # no page load: htmx swapped the list
    assert page.get_by_role("button", name="Lämna tillbaka Anmäl till rektor").count() == 1
    assert list_tasks(engine, case_id=case.id, state="ready")[0].assignee_id == people.teacher
    screenshot(page, "web-inkorg-tagen")
    page.get_by_role("button", name="Lämna tillbaka Anmäl till rektor").click()
    page.get_by_role("status").filter(has_text="Du har lämnat tillbaka").wait_for()
    assert page.evaluate("window.elevflowMarker") == "still here"
    assert list_tasks(engine, case_id=case.id, state="ready")[0].assignee_id is None
