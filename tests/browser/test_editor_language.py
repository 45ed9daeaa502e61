"""The routine editor for a Swedish process owner, in a real browser: bpmn-js's palette, context pad,
change menu and properties panel in Swedish (English when the user chose English), the diagram clear of
the palette at a readable zoom, the routine's own properties and a task's in the Elevflow group, a
faulty form's JSON explained in Swedish, and a draft discarded only when confirmed."""
from __future__ import annotations

from .conftest import screenshot
from .test_editor_walk import group, open_editor, site  # noqa: F401  (site is a fixture)

MODELER = "document.getElementById('canvas').elevflowModeler"

# Select every element in turn (the diagram itself first) and open its change menu, as a user clicking
# through the diagram would; then say which texts bpmn-js asked for that the dictionary lacks.
EVERY_ELEMENT = """async () => {
  const modeler = %s;
  const registry = modeler.get('elementRegistry');
  const pause = () => new Promise((done) => setTimeout(done, 30));
  for (const element of [ modeler.get('canvas').getRootElement(), ...registry.getAll() ]) {
    if (element.type === 'label') continue;
    modeler.get('selection').select(element);
    await pause();
    const change = document.querySelector('.djs-context-pad .entry[data-action="replace"]');
    if (change) {
      change.click();
      await pause();
      modeler.get('popupMenu').close();
    }
  }
  return [ ...modeler.get('translate').missing ];
}""" % MODELER


def select(page, element_id: str) -> None:
    page.evaluate(f"(id) => {{ const m = {MODELER}; "
                  "m.get('selection').select(m.get('elementRegistry').get(id)); }", element_id)


def title(page, selector: str) -> str | None:
    """What an entry of the palette (its aria-label) or the context pad (its title) says."""
    entry = page.locator(selector).first
    return entry.get_attribute("aria-label") or entry.get_attribute("title")


def test_the_modeler_speaks_swedish_and_english_on_request(page, site):  # noqa: F811
    open_editor(page, site)
    assert title(page, '.djs-palette .entry[data-action="create.task"]') == "Skapa uppgift"
    assert title(page, '.djs-palette .entry[data-action="hand-tool"]') == \
        "Aktivera handverktyget (flytta vyn)"
    select(page, "Task_oro_anmalan")
    assert title(page, '.djs-context-pad .entry[data-action="append.append-task"]') == "Lägg till uppgift"
    assert title(page, '.djs-context-pad .entry[data-action="delete"]') == "Ta bort"
    assert page.locator("#properties .bio-properties-panel-header-type").inner_text() == "ANVÄNDARUPPGIFT"
    group(page, "Allmänt").get_by_label("Namn", exact=True).wait_for()
    page.locator('.djs-context-pad .entry[data-action="replace"]').click()
    assert page.locator(".djs-popup").get_by_text("Manuell uppgift").count() == 1
    page.keyboard.press("Escape")
    assert page.evaluate(EVERY_ELEMENT) == []  # nothing the user met was left in English
    screenshot(page, "web-redigerare-svenska")

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("#editor[data-ready=true]")
    assert title(page, '.djs-palette .entry[data-action="create.task"]') == "Create task"
    select(page, "Task_oro_anmalan")
    group(page, "General").get_by_label("Name", exact=True).wait_for()
    assert group(page, "Elevflow").get_by_label("Deadline", exact=True).count() == 1


def test_the_diagram_opens_clear_of_the_palette_at_a_readable_zoom(page, site):  # noqa: F811
    open_editor(page, site)
    placed = page.evaluate("""() => {
      const palette = document.querySelector('#canvas .djs-palette').getBoundingClientRect();
      const shapes = [ ...document.querySelectorAll('#canvas .djs-element.djs-shape') ]
        .map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0);
      return { palette: palette.right, left: Math.min(...shapes.map((r) => r.left)),
               scale: %s.get('canvas').viewbox().scale };
    }""" % MODELER)
    assert placed["left"] > placed["palette"], placed
    assert placed["scale"] >= 0.6, placed
    page.get_by_role("button", name="Zooma in").focus()
    page.keyboard.press("Enter")  # the zoom buttons work from the keyboard
    assert page.evaluate(f"() => {MODELER}.get('canvas').viewbox().scale") > placed["scale"]


def test_the_elevflow_group_shows_the_routine_and_task_properties(page, site, engine):  # noqa: F811
    open_editor(page, site)
    select(page, "Participant_orosanmalan")  # the pool: the routine's own properties
    elevflow = group(page, "Elevflow")
    assert elevflow.get_by_label("Ärendet gäller").input_value() == "pupil"
    assert elevflow.get_by_label("Vilka roller ser rutinens ärenden").input_value() == "Rektor"
    select(page, "Task_oro_anmalan")
    assert group(page, "Elevflow").get_by_label("Personlig skyldighet", exact=False).is_checked()
    select(page, "Task_oro_aterkoppling")
    ground = group(page, "Elevflow").get_by_label(
        "Får avbrytas härifrån bara för att: Ärendet är en dubblett", exact=False)
    assert not ground.is_checked()
    ground.check()
    page.get_by_role("button", name="Spara utkast").click()
    page.get_by_role("status").filter(has_text="Utkastet är sparat.").wait_for()
    xml = page.evaluate("() => fetch(document.getElementById('editor').getAttribute('data-xml'))"
                        ".then((r) => r.text())")
    assert '<spiffworkflow:property name="cancelGrounds" value="dubblett" />' in xml
    assert '<spiffworkflow:property name="visibleTo" value="Rektor" />' in xml


def test_a_faulty_form_is_explained_in_swedish(page, site):  # noqa: F811
    open_editor(page, site)
    page.get_by_role("link", name="Nytt formulär").click()
    page.locator("#raw-json summary").click()  # the expert's JSON, folded under the form builder
    page.get_by_label("JSON Schema", exact=True).fill('{"type": "object",\n "properties": {}}}')
    message = page.locator("#preview").get_by_text("Inte giltig JSON på rad 2, tecken 19")
    message.wait_for()
    assert "det finns mer text efter det sista }" in message.inner_text()


def test_a_draft_is_discarded_only_when_confirmed(page, site):  # noqa: F811
    open_editor(page, site)
    confirm = page.get_by_role("button", name="Ja, kasta utkastet")
    assert confirm.is_hidden()
    page.locator("summary", has_text="Kasta utkastet").focus()
    page.keyboard.press("Enter")  # opens the confirmation, from the keyboard too
    assert confirm.is_visible()
    assert page.get_by_text("Det går inte att ångra").is_visible()
    confirm.click()
    page.wait_for_url("**/rutiner")
    assert page.get_by_text("Utkastet är borttaget.").count() == 1
