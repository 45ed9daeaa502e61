"""JSON Schema forms: which widget each property gets, reading a form back into JSON, and the messages."""
from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from jsonschema import Draft202012Validator
from werkzeug.datastructures import MultiDict

from elevflow.engine import settings
from elevflow.webui import close_app, create_app, forms

PROCESSES = Path(settings.load().processes_dir)
ATGARDSPROGRAM = json.loads((PROCESSES / "sarskilt_stod/forms/atgardsprogram.json").read_text())
ANMALAN = json.loads((PROCESSES / "sarskilt_stod/forms/anmalan.json").read_text())
ALL_FORMS = sorted(PROCESSES.rglob("forms/*.json"))
PROGRAMME = {
    "ap_utredning_referens": "Utredning 2025-02-01",
    "ap_behov": [{"omrade": "Matematik", "behov": "Stöd i taluppfattning."},
                 {"omrade": "Koncentration", "behov": "Korta arbetspass."}],
    "ap_atgarder": [{"atgard": "Enskild genomgång", "niva": "individ", "omfattning": "2 × 40 min/vecka",
                     "ansvarig": "Specialpedagogen"}],
    "sarskild_form": "ingen", "uppfoljning_datum": "2025-05-20", "uppfoljning_ansvarig": 7,
    "ap_ansvarig_beskrivning": "Mentor", "delaktighet_erbjuden_datum": "2025-03-01",
    "delaktighet_satt": "mote",
}


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True})
    yield app
    close_app(app)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def kinds(fields: list[forms.Field]) -> dict[str, str]:
    found: dict[str, str] = {}
    for f in fields:
        found[f.path] = f.kind
        found.update(kinds(f.children))
    return found


def test_each_property_gets_the_widget_its_type_calls_for(ctx):
    anmalan = kinds(forms.build(ANMALAN, forms.to_raw(ANMALAN), {}))
    assert anmalan == {"anmalan_datum": "date", "anmalare_typ": "radio", "anmalan_grund": "radio",
                       "anmalan_amnen": "lines", "anmalan_svarigheter": "textarea",
                       "anmalan_provade_anpassningar": "textarea", "anmalan_information_datum": "date"}
    programme = kinds(forms.build(ATGARDSPROGRAM, forms.to_raw(ATGARDSPROGRAM), {}))
    assert programme["ap_behov"] == "rows" and programme["ap_behov.0"] == "group"
    assert programme["ap_behov.0.omrade"] == "text" and programme["ap_atgarder.0.niva"] == "radio"
    assert programme["uppfoljning_ansvarig"] == "integer" and programme["elevens_synpunkter"] == "textarea"
    synthetic = {"type": "object", "required": ["samtycke"], "properties": {
        "samtycke": {"type": "boolean"}, "vald": {"type": "boolean"}, "antal": {"type": "number"},
        "tid": {"type": "string", "format": "date-time"}, "kort": {"type": "string", "maxLength": 50},
        "manad": {"type": "string", "enum": ["jan", "feb", "mar", "apr", "maj", "jun"]},
        "former": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "adress": {"type": "object", "properties": {"gata": {"type": "string", "maxLength": 100}}}}}
    assert kinds(forms.build(synthetic, forms.to_raw(synthetic), {})) == {
        "samtycke": "yesno", "vald": "checkbox", "antal": "number", "tid": "datetime", "kort": "text",
        "manad": "select", "former": "checkboxes", "adress": "group", "adress.gata": "text"}


def test_labels_and_help_come_from_title_and_description(ctx):
    fields = {f.path: f for f in forms.build(ANMALAN, forms.to_raw(ANMALAN), {})}
    date = fields["anmalan_datum"]
    assert date.label == "Anmälningsdatum" and date.required and date.help.startswith("Dagen anmälan görs")
    assert date.describedby == "f-anmalan_datum-help"
    assert fields["anmalare_typ"].options[1] == ("elev", "Eleven har begärt det")


def test_a_whole_programme_goes_to_the_form_and_back_unchanged(ctx):
    raw = forms.to_raw(ATGARDSPROGRAM, PROGRAMME)
    assert raw["_rows.ap_behov"] == "2" and raw["f.ap_behov.1.omrade"] == "Koncentration"
    data = forms.parse(ATGARDSPROGRAM, raw)
    assert data == PROGRAMME
    assert not list(Draft202012Validator(ATGARDSPROGRAM).iter_errors(data))


def test_values_are_read_by_type_and_empty_fields_are_left_out():
    schema = {"type": "object", "properties": {
        "heltal": {"type": "integer"}, "tal": {"type": "number"}, "ord": {"type": "string"},
        "ja": {"type": "boolean"}, "valfri": {"type": "boolean"},
        "tid": {"type": "string", "format": "date-time"},
        "rader": {"type": "array", "items": {"type": "string"}},
        "val": {"type": "array", "items": {"type": "integer", "enum": [1, 2, 3]}}}, "required": ["ja"]}
    raw = MultiDict([("f.heltal", " 12 "), ("f.tal", "2,5"), ("f.ord", "  "), ("f.ja", "false"),
                     ("f.tid", "2025-06-01T09:30"), ("f.rader", "ett\r\n\r\n två \n"), ("f.val", "1"),
                     ("f.val", "3")])
    assert forms.parse(schema, raw) == {"heltal": 12, "tal": 2.5, "ja": False, "valfri": False,
                                        "tid": "2025-06-01T09:30:00+02:00", "rader": ["ett", "två"],
                                        "val": [1, 3]}
    wrong = forms.parse(schema, MultiDict([("f.heltal", "tolv"), ("f.tal", "1.0")]))
    assert wrong["heltal"] == "tolv" and wrong["tal"] == 1.0  # kept as typed, so validation can name it
    assert "ja" not in wrong  # a yes/no left unanswered is missing, not no


def test_empty_rows_are_dropped_and_rows_can_be_added_and_removed():
    raw = forms.to_raw(ATGARDSPROGRAM, PROGRAMME)
    raw = forms.apply_action(raw, "add:ap_behov")
    assert raw["_rows.ap_behov"] == "3"
    assert len(forms.parse(ATGARDSPROGRAM, raw)["ap_behov"]) == 2  # the new, empty row is not data
    removed = forms.apply_action(raw, "remove:ap_behov.0")
    assert removed["_rows.ap_behov"] == "2" and removed["f.ap_behov.0.omrade"] == "Koncentration"
    assert "f.ap_behov.1.omrade" not in removed
    assert forms.parse(ATGARDSPROGRAM, removed)["ap_behov"] == [PROGRAMME["ap_behov"][1]]
    assert forms.apply_action(raw, "remove:nonsense") == raw
    huge = forms.parse(ATGARDSPROGRAM, MultiDict({"_rows.ap_behov": "100000"}))
    assert "ap_behov" not in huge


def _messages(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, list[str]]:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return forms.translate(validator, data)


def test_validation_messages_are_plain_swedish_beside_each_field(ctx):
    schema = {"type": "object", "additionalProperties": False, "required": ["namn", "datum"], "properties": {
        "namn": {"type": "string", "minLength": 3, "maxLength": 5},
        "datum": {"type": "string", "format": "date"},
        "antal": {"type": "integer", "minimum": 1, "maximum": 9}, "niva": {"enum": ["a", "b"]},
        "val": {"oneOf": [{"const": "x"}, {"const": "y"}]}, "lista": {"type": "array", "minItems": 3,
                                                                     "uniqueItems": True},
        "kod": {"type": "string", "pattern": "^[0-9]{4}$"}}}
    required = ["Fältet är obligatoriskt."]
    assert _messages(schema, {}) == {"namn": required, "datum": required}
    errors = _messages(schema, {"namn": "ab", "datum": "2025-02-30", "antal": "tre", "niva": "c", "val": "z",
                                "lista": [1, 1], "kod": "12", "extra": 1})
    assert errors["namn"] == ["Skriv minst 3 tecken."]
    assert errors["datum"] == ["Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2025-03-14."]
    assert errors["antal"] == ["Skriv ett heltal, till exempel 3."]
    assert errors["niva"] == errors["val"] == ["Välj ett av alternativen."]
    assert errors["lista"] == ["Fyll i eller välj minst 3.", "Samma värde får bara finnas med en gång."]
    assert errors["kod"] == ["Värdet är inte skrivet på rätt sätt; se förklaringen vid fältet."]
    assert errors[""] == ["Formuläret innehåller fält som inte hör till det: extra."]
    assert _messages(schema, {"namn": "abcdefg", "datum": "2025-01-01", "antal": 0}) == {
        "namn": ["Skriv högst 5 tecken (nu 7)."], "antal": ["Värdet måste vara minst 1."]}
    assert _messages(schema, {"namn": "abc", "datum": "2025-01-01", "antal": 10})["antal"] == [
        "Värdet får vara högst 9."]


def test_nested_and_conditional_requirements_sit_beside_their_field(ctx):
    errors = _messages(ATGARDSPROGRAM, {**PROGRAMME, "ap_behov": [{"omrade": "Matte"}]})
    assert errors == {"ap_behov.0.behov": ["Fältet är obligatoriskt."]}
    beslutsval = json.loads((PROCESSES / "sarskilt_stod/forms/beslutsval.json").read_text())
    assert _messages(beslutsval, {"beslut_val": "komplettera_utredning"}) == {
        "beslut_val_kommentar": ["Fältet är obligatoriskt."]}
    fields = forms.build(ATGARDSPROGRAM, forms.to_raw(ATGARDSPROGRAM, PROGRAMME), errors)
    row = next(f for f in fields if f.path == "ap_behov").children[0]
    behov = next(c for c in row.children if c.path == "ap_behov.0.behov")
    assert behov.errors == ["Fältet är obligatoriskt."]


class Inputs(HTMLParser):
    """Collects the ids of form controls and the ids labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("input", "select", "textarea") and values.get("type") not in ("hidden", "submit"):
            self.controls.append(values.get("id") or "")
        if tag == "label":
            self.labelled.add(values.get("for") or "")


@pytest.mark.parametrize("path", ALL_FORMS, ids=lambda p: p.stem)
def test_every_shipped_form_renders_with_a_label_on_every_control(ctx, path):
    schema = json.loads(path.read_text())
    fields = forms.build(schema, forms.to_raw(schema), {})
    html = render_template_string('{% from "forms/fields.html" import field %}'
                                  '{% for f in fields %}{{ field(f) }}{% endfor %}', fields=fields)
    parser = Inputs()
    parser.feed(html)
    assert parser.controls and all(parser.controls)
    assert set(parser.controls) <= parser.labelled, set(parser.controls) - parser.labelled
