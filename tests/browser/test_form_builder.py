"""The routine editor's form builder in a real browser: a process owner builds a form field by field
(label, type, required, help, choices) in Swedish, sees it previewed, saves it, uses it for a new step and
publishes; the published version holds exactly the JSON Schema the fields say. The raw JSON stays for
experts: typing in it rebuilds the fields. axe finds nothing serious on the page."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from editing_helpers import add_process_owner

from elevflow.engine import deploy_path
from elevflow.engine.org import passwords
from elevflow.engine.routines import editing

from .axe import serious_violations
from .conftest import PASSWORD, ROOT, log_in, screenshot, serve
from .test_editor_walk import ADD_TASK, group

PROCESSES = ROOT / "processes"
EXPECTED = {
    "type": "object",
    "title": "Samtal med vårdnadshavare",
    "properties": {
        "samtal_datum": {"title": "Datum för samtalet", "type": "string", "format": "date"},
        "vad_kom_ni_fram_till": {"title": "Vad kom ni fram till?", "description": "Skriv kort vad ni kom "
                                 "överens om.", "type": "string", "maxLength": 10000},
        "hur_holls_samtalet": {"title": "Hur hölls samtalet?", "type": "string", "oneOf": [
            {"const": "mote", "title": "Möte"}, {"const": "telefon", "title": "Telefon"},
            {"const": "digitalt_mote", "title": "Digitalt möte"}]},
        "behovs_uppfoljning": {"title": "Behövs uppföljning?", "type": "boolean"},
        "vilka_deltog": {"title": "Vilka deltog?", "type": "array", "uniqueItems": True, "minItems": 1,
                         "items": {"type": "string", "oneOf": [
                             {"const": "eleven", "title": "Eleven"},
                             {"const": "vardnadshavare", "title": "Vårdnadshavare"}]}},
    },
    "required": ["samtal_datum", "vad_kom_ni_fram_till", "hur_holls_samtalet", "vilka_deltog"],
    "additionalProperties": False,
}


@pytest.fixture
def site(engine, db_url, people) -> Iterator[str]:
    deploy_path(engine, PROCESSES / "orosanmalan", shared_dir=PROCESSES / "shared")
    add_process_owner(engine, people.unit)
    passwords.set_password(engine, "processagare", PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address


def add_field(page, label: str, kind: str, *, required: bool = False, help: str = "", choices: str = "",
              key: str | None = None) -> None:
    page.get_by_role("button", name="Lägg till fält").click()
    box = page.locator("fieldset.builder-field").last
    box.get_by_label("Etikett").fill(label)
    if key is not None:
        box.get_by_label("Nyckel").fill(key)
    box.get_by_label("Typ").select_option(label=kind)
    if required:
        box.get_by_label("Obligatoriskt").check()
    if help:
        box.get_by_label("Hjälptext").fill(help)
    if choices:
        box.get_by_label("Val").fill(choices)


def schema_on_page(page) -> dict:
    return json.loads(page.locator("#schema").input_value())


def test_a_form_built_field_by_field_is_saved_and_published_as_its_json_schema(page, site, engine, people):
    log_in(page, site, "processagare")
    page.get_by_role("link", name="Rutiner").click()
    page.get_by_role("button", name="Redigera Orosanmälan").click()
    page.wait_for_url("**/utkast/*")
    page.wait_for_selector("#editor[data-ready=true]")
    draft_url = page.url
    page.get_by_role("link", name="Nytt formulär").click()
    page.wait_for_selector("#form-builder[data-ready=true]")
    assert page.locator("#raw-json").get_attribute("open") is None  # the JSON folded away for experts

    page.get_by_label("Filnamn").fill("samtal.json")
    page.get_by_label("Formulärets rubrik").fill("Samtal med vårdnadshavare")
    add_field(page, "Datum för samtalet", "Datum", required=True, key="samtal_datum")
    add_field(page, "Vad kom ni fram till?", "Lång text", required=True,
              help="Skriv kort vad ni kom överens om.")
    add_field(page, "Hur hölls samtalet?", "Ett val", required=True, choices="Möte\nTelefon\nDigitalt möte")
    add_field(page, "Behövs uppföljning?", "Ja eller nej")
    add_field(page, "Vilka deltog?", "Flera val", required=True, choices="Eleven\nVårdnadshavare")
    add_field(page, "Ett fält för mycket", "Kort text")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("fieldset.builder-field").last.get_by_role("button", name="Ta bort fältet").click()
    assert schema_on_page(page) == EXPECTED
    key = page.locator("fieldset.builder-field").first.get_by_label("Nyckel")
    key.fill("Samtal datum")  # not a key: the schema keeps the last good one
    assert key.get_attribute("aria-invalid") == "true" and schema_on_page(page) == EXPECTED
    key.fill("samtal_datum")
    preview = page.locator("#preview")
    preview.get_by_text("Digitalt möte").wait_for()
    assert preview.get_by_text("Skriv kort vad ni kom överens om.").count() == 1
    # moving a field writes the order into the schema
    page.locator("fieldset.builder-field").nth(1).get_by_role("button", name="Flytta upp").click()
    assert list(schema_on_page(page)["properties"])[:2] == ["vad_kom_ni_fram_till", "samtal_datum"]
    page.locator("fieldset.builder-field").nth(0).get_by_role("button", name="Flytta ned").click()
    assert schema_on_page(page) == EXPECTED

    # an expert's edit in the JSON rebuilds the fields
    page.locator("#raw-json summary").click()
    renamed = {"title": "Ska samtalet följas upp?", "type": "boolean"}
    raw = {**EXPECTED, "properties": {**EXPECTED["properties"], "behovs_uppfoljning": renamed}}
    page.locator("#schema").fill(json.dumps(raw, ensure_ascii=False, indent=2))
    assert page.locator("fieldset.builder-field").nth(3).get_by_label("Etikett").input_value() == \
        "Ska samtalet följas upp?"
    page.locator("fieldset.builder-field").nth(3).get_by_label("Etikett").fill("Behövs uppföljning?")
    assert schema_on_page(page) == EXPECTED
    assert serious_violations(page) == []
    screenshot(page, "web-formularbyggare")
    if os.environ.get("ELEVFLOW_UPDATE_SCREENSHOTS") == "1":  # refresh docs/process-owners.md's picture
        page.locator("#raw-json summary").click()  # the builder and the preview, the JSON folded
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(ROOT / "docs" / "images" / "formularbyggare.png"))
        page.locator("#raw-json summary").click()

    page.get_by_role("button", name="Spara formuläret i utkastet").click()
    page.wait_for_url(draft_url)
    assert page.get_by_text("Formuläret samtal.json är sparat i utkastet.").count() == 1
    page.wait_for_selector("#editor[data-ready=true]")
    assert serious_violations(page) == []
    page.evaluate(ADD_TASK)
    group(page, "Allmänt").get_by_label("Namn", exact=True).fill("Samtal med vårdnadshavare")
    elevflow = group(page, "Elevflow")
    elevflow.get_by_label("Formulär").select_option("samtal.json")
    elevflow.get_by_label("Tidsfrist").fill("P1W")
    elevflow.get_by_label("Instruktioner").fill("Ring vårdnadshavarna och skriv vad ni kom fram till.")
    page.wait_for_timeout(600)  # the panel's text fields apply after a short debounce
    page.get_by_role("button", name="Kontrollera").click()
    page.wait_for_selector("#editor[data-checked]")
    assert page.locator("#editor").get_attribute("data-checked") == "runnable"
    page.get_by_label("Vad har ändrats och varför?").fill("Samtal med vårdnadshavarna efter återkopplingen.")
    page.get_by_role("button", name="Publicera som ny version").click()
    page.wait_for_url("**/rutiner/orosanmalan")
    published = editing.newest_version(engine, "orosanmalan")
    assert published.version == 2 and published.forms["samtal.json"] == EXPECTED
    assert editing.check_form("samtal.json", published.forms["samtal.json"]) == []


@pytest.fixture
def support_site(engine, db_url, people) -> Iterator[str]:
    deploy_path(engine, PROCESSES / "sarskilt_stod", shared_dir=PROCESSES / "shared")
    add_process_owner(engine, people.unit)
    passwords.set_password(engine, "processagare", PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address


@pytest.mark.parametrize("form", ["kartlaggning.json", "atgardsprogram.json", "beslut_atgardsprogram.json"])
def test_the_builder_changes_only_what_is_edited_in_a_form_it_cannot_wholly_show(page, support_site, engine,
                                                                                 form):
    """A shipped form with conditions (allOf), tables of rows and date order: relabelling one field in the
    builder changes that title and nothing else of the schema."""
    original = editing.newest_version(engine, "sarskilt_stod").forms[form]
    log_in(page, support_site, "processagare")
    page.get_by_role("link", name="Rutiner").click()
    page.get_by_role("button", name="Redigera Särskilt stöd").click()
    page.wait_for_url("**/utkast/*")
    page.get_by_role("link", name=form, exact=True).click()
    page.wait_for_selector("#form-builder[data-ready=true]")
    assert schema_on_page(page) == original  # opening it writes nothing
    boxes = page.locator("fieldset.builder-field")
    assert boxes.count() == len(original["properties"])
    first = next(iter(original["properties"]))
    boxes.first.get_by_label("Etikett").fill("Ny etikett")
    changed = {**original, "properties": {**original["properties"],
                                          first: {**original["properties"][first], "title": "Ny etikett"}}}
    assert schema_on_page(page) == changed
    assert serious_violations(page) == []
