"""axe-core on every main page, in a real browser: the login page, the inbox, a step's page with what it
builds on, Mina ärenden (searched too), a case page with its step list and diagram, the pupil search, a
pupil's page and their access history, notifications, the quality pages, the routines, a version's page
and the routine editor — none may have a serious or critical violation."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from editing_helpers import add_process_owner
from test_routines import form_data

from elevflow.engine import complete_task, deploy_path, list_tasks, settings, start_case
from elevflow.engine.org import passwords
from elevflow.engine.runtime.tasks import task_info

from .axe import serious_violations as axe
from .conftest import PASSWORD, log_in, serve
from .test_phone import WIDTH, fits

PROCESSES = Path(settings.load().processes_dir)


@pytest.fixture
def site(engine, db_url, people, chain) -> Iterator[str]:
    for routine in ("orosanmalan", "franvaro"):
        deploy_path(engine, PROCESSES / routine, shared_dir=PROCESSES / "shared")
    add_process_owner(engine, people.unit)
    for username in ("teacher", "mentor", "rektor", "processagare"):
        passwords.set_password(engine, username, PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address


def checked(page, url: str, found: dict[str, list]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if page.locator("#diagram").count():  # drawn (or said it could not be) before it is checked
        try:
            page.wait_for_selector("#diagram[data-rendered=true]", timeout=15_000, state="attached")
        except Exception as exc:
            raise AssertionError(f"{url}: {page.locator('#diagram-fallback').inner_text()}") from exc
    if violations := axe(page):
        found[url] = violations


@pytest.mark.parametrize("width", [1280, WIDTH])
def test_no_main_page_has_a_serious_or_critical_accessibility_violation(browser, site, engine, people, width):
    case = start_case(engine, "franvaro", pupil_id=people.pupil, by=people.rektor)
    [first] = list_tasks(engine, case_id=case.id, state="ready")
    complete_task(engine, first.id, form_data(task_info(engine, first)["form"], {}, None), by=people.mentor)
    [step] = list_tasks(engine, case_id=case.id, state="ready")
    context = browser.new_context(locale="sv-SE", viewport={"width": width, "height": 900})
    page = context.new_page()
    found: dict[str, list] = {}
    checked(page, f"{site}/logga-in", found)
    log_in(page, site, "mentor")  # the step is the mentor's: its page, with what it builds on
    checked(page, f"{site}/uppgifter/{step.id}", found)
    assert page.locator("section.basis").count() == 1
    context.clear_cookies()
    log_in(page, site, "rektor")
    for path in ["/uppgifter", "/arenden", "/arenden?q=7B", f"/arenden/{case.id}",
                 "/elever", "/elever?q=Alva", f"/elever/{people.pupil}", f"/elever/{people.pupil}/atkomst",
                 "/aviseringar", "/kvalitet", "/kvalitet/rutin?rutin=franvaro"]:
        checked(page, site + path, found)
        if width == WIDTH:
            fits(page)
    context.clear_cookies()
    log_in(page, site, "processagare")
    for path in ["/rutiner/orosanmalan", "/rutiner"]:
        checked(page, site + path, found)
    page.get_by_role("button", name="Redigera Orosanmälan").click()
    page.wait_for_url("**/utkast/*")
    page.wait_for_selector("#editor[data-ready=true]")
    if violations := axe(page):
        found["editor"] = violations
    context.close()
    assert found == {}
