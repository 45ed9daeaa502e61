"""The routine editor in a real browser: a process owner adds a step to Orosanmälan in the bpmn-js
Modeler, fills in its Elevflow properties in the properties panel, checks and publishes it; a teacher
starts a new case, which takes the new version, while a case started before finishes on the old one.
A sandbox escape typed into a condition is refused and marked on the diagram."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from editing_helpers import ESCAPE, add_process_owner
from sqlalchemy import select
from test_miwg import EXPECTED, MIWG, MODELS

from elevflow.engine import complete_task, deploy_path, get_case, list_tasks, settings, start_case
from elevflow.engine.org import passwords
from elevflow.engine.storage.models import VersionReader

from .conftest import PASSWORD, ROOT, log_in, screenshot, serve

PROCESSES = settings.shipped_processes()
REPORT = {"oro_skickad": "2026-11-23T09:00:00+01:00", "oro_satt": "telefon",
          "oro_mottagare": "Socialtjänsten", "oro_beskrivning": "Eleven berättade om oro hemma."}
FEEDBACK = {"oro_aterkoppling": "utredning_inledd", "oro_ny_anmalan": False}

# Through the modeler's own API, as dragging from the palette would: move the end event right, put a user
# task where it was (in the Rektor lane), and route the gateway's "Nej" flow through it.
ADD_TASK = """() => {
  const modeler = document.getElementById('canvas').elevflowModeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
  const end = registry.get('End_oro_klar'), flow = registry.get('Flow_oro_kvarstar_till_oro_klar');
  const at = { x: end.x + end.width / 2, y: end.y + end.height / 2 };
  modeling.moveElements([ end ], { x: 130, y: 0 });
  const task = modeling.createShape({ type: 'bpmn:UserTask' }, at, end.parent);
  modeling.reconnectEnd(flow, task, at);
  modeling.connect(task, end);
  modeler.get('selection').select(task);
  return task.id;
}"""


@pytest.fixture
def site(engine, db_url, people) -> Iterator[str]:
    deploy_path(engine, PROCESSES / "orosanmalan", shared_dir=PROCESSES / "shared")
    add_process_owner(engine, people.unit)
    for username in ("teacher", "rektor", "processagare"):
        passwords.set_password(engine, username, PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address


def open_editor(page, site: str) -> None:
    log_in(page, site, "processagare")
    page.get_by_role("link", name="Rutiner").click()
    page.get_by_role("button", name="Redigera Orosanmälan").click()
    page.wait_for_url("**/utkast/*")
    page.wait_for_selector("#editor[data-ready=true]")


def group(page, title: str):
    """A group of the properties panel, opened if it is folded."""
    header = page.locator("#properties .bio-properties-panel-group-header", has_text=title).first
    if "open" not in (header.get_attribute("class") or "").split():
        header.click()
    return page.locator("#properties")


def test_a_step_added_in_the_editor_runs_in_new_cases_only(page, site, engine, people):
    old = start_case(engine, "orosanmalan", pupil_id=people.pupil, by=people.teacher)
    open_editor(page, site)
    task_id = page.evaluate(ADD_TASK)
    group(page, "Allmänt").get_by_label("Namn", exact=True).fill("Arkivera anmälan")
    elevflow = group(page, "Elevflow")
    elevflow.get_by_label("Formulär").select_option("oro_aterkoppling.json")
    elevflow.get_by_label("Tidsfrist").fill("P1W")
    elevflow.get_by_label("Instruktioner").fill("Lägg anmälan i akten.")
    page.wait_for_timeout(600)  # the panel's text fields apply after a short debounce
    page.get_by_role("button", name="Kontrollera").click()
    page.wait_for_selector("#editor[data-checked]")
    assert page.locator("#editor").get_attribute("data-checked") == "runnable"
    assert page.get_by_role("status").filter(has_text="Rutinen kan köras.").count() == 1
    shot = screenshot(page, "web-redigera-rutin")
    if os.environ.get("ELEVFLOW_UPDATE_SCREENSHOTS") == "1":  # refresh docs/process-owners.md's picture
        shutil.copy(shot, ROOT / "docs" / "images" / "rutinredigerare.png")

    page.get_by_label("Vad har ändrats och varför?").fill("Anmälan arkiveras när ärendet är klart.")
    page.get_by_role("button", name="Publicera som ny version").click()
    page.wait_for_url("**/rutiner/orosanmalan")
    assert page.get_by_text("Version 2 av ”Orosanmälan” är publicerad").count() == 1
    page.get_by_role("link", name="Jämför med version 1").click()
    page.wait_for_selector(".diff-diagram[data-rendered=true] >> nth=1")
    assert page.locator(f'.elevflow-added[data-element-id="{task_id}"]').count() == 1
    screenshot(page, "web-jamfor-versioner")
    page.context.clear_cookies()

    log_in(page, site, "teacher")
    page.goto(f"{site}/elever?q=Alva")
    page.get_by_label("Rutin för Alva Andersson").select_option("orosanmalan")
    page.get_by_role("button", name="Starta").click()
    # the old case still runs for Alva: the page asks first, and starts another when told to
    assert page.get_by_text("Det finns redan ett pågående ärende").count() == 1
    page.get_by_role("button", name="Starta ett nytt ärende ändå").click()
    page.wait_for_url("**/uppgifter/*")
    [new_case_id] = {t.case_id for t in list_tasks(engine, state="ready")} - {old.id}
    assert get_case(engine, new_case_id).process_version_id != get_case(engine, old.id).process_version_id
    # what the routine says about who sees and who makes the report survives the editor's round trip
    parsed = engine.specs.get(get_case(engine, new_case_id).process_version_id)
    assert parsed.user_tasks()["Task_oro_anmalan"].personal
    with engine.db.read() as s:
        assert set(s.scalars(select(VersionReader.role).where(
            VersionReader.version_id == get_case(engine, new_case_id).process_version_id))) == {"rektor"}

    for case_id in (old.id, new_case_id):
        complete_task(engine, list_tasks(engine, case_id=case_id, state="ready")[0].id, REPORT,
                      by=people.teacher)
        complete_task(engine, list_tasks(engine, case_id=case_id, state="ready")[0].id, FEEDBACK,
                      by=people.rektor)
    assert get_case(engine, old.id).status == "completed"  # the old version has no archiving step
    [archive] = list_tasks(engine, case_id=new_case_id, state="ready")
    assert (archive.bpmn_id, archive.name, archive.role, archive.form) == (
        task_id, "Arkivera anmälan", "rektor", "oro_aterkoppling.json")
    assert archive.due_at is not None
    complete_task(engine, archive.id, FEEDBACK, by=people.rektor)
    assert get_case(engine, new_case_id).status == "completed"


def test_a_sandbox_escape_is_refused_and_marked_on_the_diagram(page, site, engine):
    open_editor(page, site)
    page.evaluate("""() => { const modeler = document.getElementById('canvas').elevflowModeler;
      modeler.get('selection').select(modeler.get('elementRegistry').get('Flow_oro_kvarstar_till_oro_anmalan'));
    }""")
    condition = group(page, "Elevflow").get_by_label("Villkor")
    assert condition.input_value() == "oro_ny_anmalan == True"
    condition.fill("oro_ny_anmalan == True and " + ESCAPE)
    page.wait_for_timeout(600)  # the panel applies text after a short debounce
    page.get_by_label("Vad har ändrats och varför?").fill("Försök")
    page.get_by_role("button", name="Publicera som ny version").click()
    page.wait_for_selector("#editor[data-checked=problems]")
    assert "/utkast/" in page.url  # not published
    problems = page.locator("#problem-list li")
    assert problems.count() == 1
    assert "Flow_oro_kvarstar_till_oro_anmalan" in problems.first.inner_text()
    flow = page.locator('g.djs-connection[data-element-id="Flow_oro_kvarstar_till_oro_anmalan"]')
    assert "elevflow-problem" in flow.get_attribute("class")
    problems.first.get_by_role("button", name="Visa i diagrammet").click()
    assert group(page, "Allmänt").get_by_label("ID", exact=True).input_value() == \
        "Flow_oro_kvarstar_till_oro_anmalan"
    screenshot(page, "web-redigera-fel")


#: What test_miwg.EXPECTED's English words are in the Swedish editor (every one has a code of its own)
SWEDISH = {"no executable process": "ingen körbar process", "service task": "en serviceuppgift",
           "data store": "ett datalager", "business rule task": "en affärsregeluppgift",
           "condition on a flow leaving a task": "ett villkor på ett flöde som lämnar en uppgift",
           "compensation": "kompensation", "user task is not in a lane": "användaruppgiften ligger inte i "
                                                                        "någon simbana",
           "Exactly one start event is required": "exakt en starthändelse",
           "multiinstance task must specify a cardinality":
               "en flerinstansuppgift måste ange hur många gånger"}


def test_every_miwg_model_opens_in_the_editor_with_its_verdict_on_the_diagram(page, site):
    """Each reference model is imported through the page, drawn by the modeler, and checked: the
    verdict's problems are listed, and each one naming an element on the diagram marks it."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, site, "processagare")
    for model in MODELS:
        page.goto(f"{site}/rutiner")
        page.get_by_label("BPMN-fil", exact=True).set_input_files(str(MIWG / model))
        page.get_by_role("button", name="Importera", exact=True).click()
        page.wait_for_url("**/utkast/*")
        page.wait_for_selector("#editor[data-ready=true]")
        drawn = page.evaluate("""() => document.getElementById('canvas').elevflowModeler
            .get('elementRegistry').filter((e) => e.type !== 'label').length""")
        assert drawn > 1, model
        page.get_by_role("button", name="Kontrollera").click()
        page.wait_for_selector("#editor[data-checked]")
        assert page.locator("#editor").get_attribute("data-checked") == "problems", model
        says, elements = EXPECTED[model]
        says = {SWEDISH.get(words, words) for words in says}  # the page speaks the user's language
        listed = page.locator("#problem-list").inner_text()
        for words in says:
            assert words in listed, (model, listed)
        for element_id in elements:
            marked = page.locator(f'.djs-element.elevflow-problem[data-element-id="{element_id}"]')
            assert marked.count() >= 1 or element_id not in page.evaluate(
                "() => document.getElementById('canvas').elevflowModeler.get('elementRegistry').getAll()"
                ".map((e) => e.id)"), (model, element_id)
    assert errors == []


def test_a_new_form_is_previewed_live_and_offered_to_tasks(page, site):
    open_editor(page, site)
    page.get_by_role("link", name="Nytt formulär").click()
    page.get_by_label("Filnamn").fill("arkivering.json")
    page.locator("#raw-json summary").click()  # the expert's JSON, folded under the form builder
    schema = page.get_by_label("JSON Schema", exact=True)
    field = '"diarienummer": {"type": "string", "title": "Diarienummer"}'
    schema.fill('{"type": "object", "properties": {' + field + '}}')
    page.locator("#preview").get_by_label("Diarienummer").wait_for()  # htmx drew the preview
    schema.fill('{"type": "object", "properties": {"x": {"type": 7}}}')
    page.locator("#preview").get_by_text("Schemat är inte giltigt").wait_for()
    schema.fill('{"type": "object", "properties": {' + field + '}, "required": ["diarienummer"], '
                '"additionalProperties": false}')
    page.locator("#preview").get_by_label("Diarienummer").wait_for()
    screenshot(page, "web-formular")
    page.get_by_role("button", name="Spara formuläret i utkastet").click()
    page.wait_for_selector("#editor[data-ready=true]")
    assert page.get_by_role("link", name="arkivering.json").count() == 1
    page.evaluate("""() => { const modeler = document.getElementById('canvas').elevflowModeler;
      modeler.get('selection').select(modeler.get('elementRegistry').get('Task_oro_aterkoppling')); }""")
    options = group(page, "Elevflow").get_by_label("Formulär").locator("option").all_inner_texts()
    assert "arkivering.json" in options
