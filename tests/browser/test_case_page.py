"""The case page in a real browser: the routine's diagram drawn by the vendored bpmn-js (under the page's
Content-Security-Policy), with the passed step and the waiting one marked, and bpmn.io's mark shown."""
from __future__ import annotations

from pathlib import Path

from test_routines import form_data

from engine import complete_task, deploy_path, list_tasks, settings, start_case
from engine.tasks import task_info

from .conftest import log_in, screenshot
from .test_web_walk import site  # noqa: F401  (site is a fixture)

PROCESSES = Path(settings.get("ELEVFLOW_PROCESSES_DIR"))


def test_the_case_page_draws_the_diagram_and_marks_where_the_case_stands(page, site, db, people):  # noqa: F811
    deploy_path(db, PROCESSES / "franvaro", shared_dir=PROCESSES / "shared")
    case = start_case(db, "franvaro", pupil_id=people.pupil, by=people.rektor)
    [first] = list_tasks(db, case_id=case.id, state="ready")
    complete_task(db, first.id, form_data(task_info(db, first)["form"], {}, None), by=people.mentor)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, site, "rektor")
    page.goto(f"{site}/arenden/{case.id}")
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15_000)
    assert page.locator("#diagram .djs-shape").count() > 0
    assert page.locator(f'#diagram .elevflow-completed[data-element-id="{first.bpmn_id}"]').count() == 1
    assert page.locator("#diagram .elevflow-current").count() >= 1
    assert page.locator("#diagram .bjs-powered-by").is_visible()  # bpmn.io's mark, as its licence asks
    assert page.locator("#diagram-fallback").is_hidden()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    screenshot(page, "case-page")
