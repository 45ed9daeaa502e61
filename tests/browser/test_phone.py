"""A phone (390 × 844 px) in a real browser: a teacher reports a kränkning from the schoolyard through the
pupil search, reads the inbox as labelled cards with the first task on the first screen (filters folded),
and opens a step on the case page — no page wider than the screen."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_routines import form_data

from elevflow.engine import complete_task, deploy_path, list_tasks, settings, start_case
from elevflow.engine.runtime.tasks import task_info

from .conftest import log_in, screenshot
from .test_web_walk import site  # noqa: F401  (site is a fixture)

PROCESSES = Path(settings.load().processes_dir)
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone(browser) -> Iterator[object]:
    context = browser.new_context(locale="sv-SE", viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    tab = context.new_page()
    yield tab
    context.close()


def fits(page) -> None:
    """Nothing on the page is wider than the screen (no sideways scrolling)."""
    width = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (page.url, width)


def on_screen(locator, *, first_screen: bool = False) -> None:
    """The element is shown, all of it within the screen's width (and above its fold, if asked)."""
    assert locator.is_visible()
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
    if first_screen:
        assert box["y"] + box["height"] <= HEIGHT, box


def test_a_kränkning_is_reported_from_the_pupil_search_on_a_phone(phone, site, engine):  # noqa: F811
    deploy_path(engine, PROCESSES / "krankande_behandling", shared_dir=PROCESSES / "shared")
    log_in(phone, site, "teacher")
    fits(phone)
    phone.goto(f"{site}/elever?q=Alva")
    fits(phone)
    choose = phone.get_by_label("Rutin för Alva Andersson")
    start = phone.get_by_role("button", name="Starta").first
    on_screen(choose)
    on_screen(start)
    screenshot(phone, "telefon-elever")
    choose.select_option("krankande_behandling")
    start.click()
    phone.wait_for_url("**/uppgifter/*")
    fits(phone)
    on_screen(phone.get_by_role("button", name="Slutför uppgiften").last)
    screenshot(phone, "telefon-uppgift")


def test_the_inbox_shows_labelled_cards_and_the_first_task_on_the_first_screen(phone, site, engine,  # noqa: F811
                                                                               people):
    for _ in range(3):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    log_in(phone, site, "teacher")
    fits(phone)
    filters = phone.locator("details.filter-box")
    assert filters.get_attribute("open") is None  # folded on a phone
    assert phone.get_by_label("Sortera efter").is_hidden()
    first = phone.get_by_role("link", name="Anmäl till rektor").first
    on_screen(first, first_screen=True)
    routine = phone.locator("table.tasks tbody tr").first.locator("td").first
    assert phone.evaluate("(cell) => getComputedStyle(cell, '::before').content", routine.element_handle()) \
        == '"Rutin: "'
    screenshot(phone, "telefon-inkorg")
    phone.get_by_text("Filtrera och sortera", exact=True).click()
    on_screen(phone.get_by_label("Sortera efter"))
    fits(phone)


def test_an_opened_step_on_the_case_page_fits_a_phone(phone, site, engine, people):  # noqa: F811
    deploy_path(engine, PROCESSES / "franvaro", shared_dir=PROCESSES / "shared")
    case = start_case(engine, "franvaro", pupil_id=people.pupil, by=people.rektor)
    [first] = list_tasks(engine, case_id=case.id, state="ready")
    complete_task(engine, first.id, form_data(task_info(engine, first)["form"], {}, None), by=people.mentor)
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    log_in(phone, site, "rektor")
    phone.goto(f"{site}/arenden/{case.id}")
    phone.wait_for_selector("#diagram[data-rendered=true]", timeout=15_000)
    step = phone.locator("#genomforda details").first
    step.locator("summary").click()
    on_screen(step.locator("dl"))
    fits(phone)
    screenshot(phone, "telefon-arende")
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    phone.goto(f"{site}/uppgifter/{task.id}")
    fits(phone)
    assert errors == []


def test_a_kränkning_is_reported_from_the_pupil_page_found_by_search_on_a_phone(phone, site, engine,  # noqa: F811
                                                                              people):
    """Search, the pupil's page, start the report there (a warning first, since one is already running)
    and send it with its proposed dates: all at 390 px, nothing serious for axe."""
    from .axe import serious_violations as axe
    deploy_path(engine, PROCESSES / "krankande_behandling", shared_dir=PROCESSES / "shared")
    start_case(engine, "krankande_behandling", pupil_id=people.pupil, by=people.teacher)  # an earlier one
    log_in(phone, site, "teacher")
    phone.goto(f"{site}/elever?q=Alva")
    phone.get_by_role("link", name="Alva Andersson").click()
    phone.wait_for_url(f"**/elever/{people.pupil}")
    fits(phone)
    assert axe(phone) == []
    choose = phone.get_by_label("Rutin", exact=True)
    on_screen(choose)
    choose.select_option("krankande_behandling")
    phone.get_by_role("button", name="Starta").click()
    assert phone.get_by_text("Det finns redan ett pågående ärende").count() == 1  # a duplicate? asked
    fits(phone)
    phone.get_by_role("button", name="Starta ett nytt ärende ändå").click()
    phone.wait_for_url("**/uppgifter/*")
    fits(phone)
    assert axe(phone) == []
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    assert phone.locator('[name="f.kb_anmalan_rektor_datum"]').input_value() == today  # proposed: today
    phone.locator('[name="f.kb_kannedom_datum"]').fill(f"{today}T08:10")
    phone.locator('[name="f.kb_beskrivning"]').fill("Knuffad och hånad på rasten.")
    phone.locator('[name="f.kb_inblandade"][value="elev_elev"]').check()
    on_screen(phone.get_by_role("button", name="Slutför uppgiften").last)
    phone.get_by_role("button", name="Slutför uppgiften").last.click()
    phone.wait_for_url(f"{site}/uppgifter**")
    assert phone.locator(".error-summary").count() == 0
    screenshot(phone, "telefon-elevsida-krankning")
