"""The case page in a real browser: the routine's diagram drawn by the vendored bpmn-js (under the page's
Content-Security-Policy), with the passed step and the waiting one marked, and bpmn.io's mark shown; a
large one opened readable around the waiting step, with zoom buttons; the timeline in the reader's
language, its gateway lines naming the way the case went."""
from __future__ import annotations

from pathlib import Path

from test_routines import form_data

from elevflow.engine import complete_task, deploy_path, list_tasks, settings, start_case
from elevflow.engine.runtime.tasks import task_info

from .conftest import log_in, screenshot
from .test_web_walk import site  # noqa: F401  (site is a fixture)

PROCESSES = Path(settings.load().processes_dir)


def test_the_case_page_draws_the_diagram_and_marks_where_the_case_stands(page, site, engine,  # noqa: F811
                                                                         people):
    deploy_path(engine, PROCESSES / "franvaro", shared_dir=PROCESSES / "shared")
    case = start_case(engine, "franvaro", pupil_id=people.pupil, by=people.rektor)
    [first] = list_tasks(engine, case_id=case.id, state="ready")
    complete_task(engine, first.id, form_data(task_info(engine, first)["form"], {}, None), by=people.mentor)
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


def test_a_large_diagram_opens_readable_around_the_waiting_step(page, site, engine, people):  # noqa: F811
    deploy_path(engine, PROCESSES / "sarskilt_stod", shared_dir=PROCESSES / "shared")
    case = start_case(engine, "sarskilt_stod", pupil_id=people.pupil, by=people.teacher)
    [waiting] = list_tasks(engine, case_id=case.id, state="ready")
    log_in(page, site, "rektor")
    page.goto(f"{site}/arenden/{case.id}")
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15_000)
    scale = "() => document.getElementById('diagram').elevflowViewer.get('canvas').viewbox().scale"
    opened = page.evaluate(scale)
    assert opened >= 0.85  # not shrunk to fit: its labels stay readable
    frame = page.locator("#diagram").bounding_box()
    step = page.locator(f'#diagram .elevflow-current[data-element-id="{waiting.bpmn_id}"]').bounding_box()
    assert frame["x"] <= step["x"] and step["x"] + step["width"] <= frame["x"] + frame["width"]
    assert frame["y"] <= step["y"] and step["y"] + step["height"] <= frame["y"] + frame["height"]
    screenshot(page, "case-page-readable")
    page.get_by_role("button", name="Zooma ut").focus()
    page.keyboard.press("Enter")  # from the keyboard
    assert page.evaluate(scale) < opened
    page.get_by_role("button", name="Visa hela").click()
    whole = page.evaluate("""() => { const frame = document.getElementById('diagram').getBoundingClientRect();
      return [ ...document.querySelectorAll('#diagram .djs-shape') ].map((e) => e.getBoundingClientRect())
        .filter((r) => r.width > 0)
        .every((r) => r.left >= frame.left - 1 && r.right <= frame.right + 1); }""")
    assert whole
    page.get_by_role("button", name="Läsbar storlek").click()
    assert page.evaluate(scale) == opened


def test_the_timeline_follows_the_reader_s_language(page, site, engine, people, chain):  # noqa: F811
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id,
                  {"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt."}, by=people.teacher)
    complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, {"behov": "ja"},
                  by=people.specialpedagog)
    log_in(page, site, "rektor")
    page.goto(f"{site}/arenden/{case.id}")
    timeline = page.locator("ol.timeline")
    assert "Vägval ”Behov av särskilt stöd?”: ”Ja”, vidare till ”Besluta om åtgärdsprogram”" in \
        timeline.inner_text()
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Events").wait_for()
    said = timeline.inner_text()
    assert "The case was started" in said and "Ärendet startades" not in said
    assert "Decision point ”Behov av särskilt stöd?”: ”Ja”, on to ”Besluta om åtgärdsprogram”" in said
