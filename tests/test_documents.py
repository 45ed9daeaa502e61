"""Decision documents: the statutory contents in Swedish, the appeal instructions, and identical bytes
for identical input.

What a document says is tested on the structured content handed to the renderer (`decision_content`),
and — to know it really reaches the page, å, ä and ö included — on the text read back out of the
uncompressed PDF with the small reader below (no PDF library is a dependency of the project).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from elevflow.engine import render_decision
from elevflow.engine.documents.pdf import (
    APPEAL_HEADING,
    FONT_DIRS,
    LABELS,
    MISSING,
    RECEIPT_HEADING,
    TITLES,
    clean,
    decision_content,
)

FORMS = Path(__file__).resolve().parent.parent / "processes" / "sarskilt_stod" / "forms"
SIGNED = datetime(2026, 1, 20, 9, 30, tzinfo=timezone.utc)
PARTIES = {"signer_name": "Rut Rektorsson", "delegation_ref": None, "signed_at": SIGNED,
           "unit_name": "Ekskolan", "pupil_name": "Alva Åström"}
PROGRAMME = {
    "ap_utredning_referens": "Utredning 2026-01-10", "bedomning_sarskilt_stod": "behov",
    "ap_behov": [{"omrade": "Matematik", "behov": "Taluppfattning och huvudräkning"}],
    "ap_atgarder": [{"atgard": "Enskild genomgång med speciallärare", "niva": "individ",
                     "omfattning": "2 × 40 minuter per vecka", "ansvarig": "Speciallärare Öberg"}],
    "sarskild_form": "ingen", "uppfoljning_datum": "2026-03-15", "uppfoljning_ansvarig": 7,
    "uppfoljning_ansvarig_namn": "Mentor Mats", "ap_ansvarig_beskrivning": "Mentor Mats",
    "delaktighet_erbjuden_datum": "2026-01-15", "delaktighet_satt": "mote",
    "elevens_synpunkter": "Vill ha stödet i klassrummet.", "vardnadshavarnas_synpunkter": "Positiva.",
    "beslut_ap_datum": "2026-01-20", "beslut_ap_motivering": "Utredningen visar att eleven behöver stöd.",
}
PROGRAMME_HEADINGS = ["Utredning som beslutet grundar sig på", "Elevens behov av särskilt stöd", "Åtgärder",
                      "Särskild form av stöd", "Uppföljning och utvärdering",
                      "Elevens och vårdnadshavarnas delaktighet"]
DECISION_HEADINGS = ["Elev och skolenhet", "Beslut", "Skäl för beslutet", "Beslutsfattare", APPEAL_HEADING,
                     RECEIPT_HEADING]
#: kind -> the headings its document must have (domain brief §8)
REQUIRED = {
    **{kind: DECISION_HEADINGS + PROGRAMME_HEADINGS for kind in
       ("atgardsprogram", "sarskild_undervisningsgrupp", "enskild_undervisning", "distansundervisning",
        "anpassad_studiegang")},
    "program": ["Elev och skolenhet", *PROGRAMME_HEADINGS, "Beslutsfattare"],
    "ej_atgardsprogram": DECISION_HEADINGS + ["Utredning som beslutet grundar sig på",
                                              "Hur elevens behov tillgodoses"],
    "avslut_atgardsprogram": DECISION_HEADINGS + ["Åtgärdsprogrammet som avslutas",
                                                  "Utvärdering och uppdaterad bedömning",
                                                  "Extra anpassningar som fortsätter"],
    "avvisning_overklagande": DECISION_HEADINGS + ["Överklagandet"],
}
APPEAL_PHRASES = ["Skolväsendets överklagandenämnd", "fyllt 16 år", "två vårdnadshavare ska båda",
                  "skriftligt", "vilken ändring", "underteckna", "till skolenheten Ekskolan",
                  "inom tre veckor från den dag du fick del av beslutet", "kan det avvisas", "hjälp"]


def pdf_text(pdf: bytes) -> str:
    """The text shown by an uncompressed fpdf2 PDF: each string drawn, decoded through its font's
    ToUnicode map, one per line."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj\s(.*?)endobj", pdf, re.S)}

    def stream(number: int) -> bytes:
        return re.search(rb"stream\r?\n(.*?)\r?\nendstream", objects[number], re.S).group(1)

    cmaps = {}
    for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", pdf):
        to_unicode = int(re.search(rb"/ToUnicode (\d+) 0 R", objects[int(number)]).group(1))
        cmap = stream(to_unicode)
        pairs = re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]{4})>", cmap)
        cmaps[name] = {int(a, 16): chr(int(b, 16)) for a, b in pairs}

    def decoded(literal: bytes) -> str:
        raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1).isdigit()
                     else {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(
                         m.group(1), m.group(1)), literal, flags=re.S)
        codes = (int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2))
        return "".join(cmaps[font].get(code, "\ufffd") for code in codes)

    string = rb"\(((?:\\.|[^\\)])*)\)"
    lines, font = [], None
    for number in re.findall(rb"/Contents (\d+) 0 R", pdf):
        tokens = rb"/(F\d+) [\d.]+ Tf|" + string + rb" Tj|\[(.*?)\] TJ"
        for token in re.finditer(tokens, stream(int(number)), re.S):
            if token.group(1):
                font = token.group(1)
            elif token.group(3) is not None:  # a justified line: strings with spacing between them
                lines.append(" ".join(decoded(m.group(1)) for m in re.finditer(string, token.group(3), re.S)))
            else:
                lines.append(decoded(token.group(2)))
    return "\n".join(lines)


@pytest.mark.parametrize("kind", REQUIRED)
def test_every_kind_renders_with_its_statutory_headings_in_swedish(kind):
    document = decision_content(kind, PROGRAMME, **PARTIES)
    headings = [s.heading for s in document.sections]
    assert document.title == TITLES[kind][0] and document.legal_ground
    assert set(REQUIRED[kind]) <= set(headings), set(REQUIRED[kind]) - set(headings)
    pdf = render_decision(kind, PROGRAMME, **PARTIES, compress=False)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    shown = " ".join(pdf_text(pdf).split())  # a long title is two lines
    for line in [document.title, *REQUIRED[kind], "Alva Åström", "Ekskolan", "Rut Rektorsson"]:
        assert line in shown, line
    if kind == "program":
        assert APPEAL_HEADING not in headings and "överklagandenämnd" not in document.text()
    else:
        for phrase in APPEAL_PHRASES:
            assert phrase in document.text(), phrase


def test_a_programme_decision_says_what_the_law_asks_of_a_programme():
    text = decision_content("atgardsprogram", PROGRAMME, **PARTIES).text()
    for said in ["Matematik | Taluppfattning och huvudräkning",
                 "Enskild genomgång med speciallärare | Individnivå | 2 × 40 minuter per vecka | "
                 "Speciallärare Öberg",
                 "Uppföljning, när: 2026-03-15", "Uppföljning, av vem: Mentor Mats",
                 "Utvärdering, när: 2026-03-15", "Utvärdering, av vem: Mentor Mats",
                 "Delaktighet erbjuden: 2026-01-15", "Hur: Möte",
                 "Elevens synpunkter: Vill ha stödet i klassrummet.", "Utredning: Utredning 2026-01-10",
                 "Pedagogisk bedömning: Eleven är i behov av särskilt stöd",
                 "Utredningen visar att eleven behöver stöd.", "Beslutsdatum: 2026-01-20",
                 "Beslutsfattare: Rut Rektorsson", "Befogenhet: Rektor",
                 "Signerat: elektroniskt i Elevflow 2026-01-20 kl. 10.30"]:
        assert said in text, said


def test_a_delegates_decision_names_the_delegation_and_a_special_form_the_rektors_own_decision():
    delegate = {**PARTIES, "delegation_ref": "nr 4, Delegation 2025:3"}
    text = decision_content("atgardsprogram", PROGRAMME, **delegate).text()
    assert "Befogenhet: Delegat enligt rektors delegationsbeslut (2 kap. 10 § skollagen)" in text
    assert "Delegationsbeslut: nr 4, Delegation 2025:3" in text
    consented = {**PROGRAMME, "distans_medgivande": True}
    text = decision_content("distansundervisning", consented, **PARTIES).text()
    assert "Form: Distansundervisning" in text and "Vårdnadshavarnas medgivande: Ja" in text
    assert "rektor personligen och får inte delegeras" in text


def test_missing_fields_print_as_a_dash_instead_of_failing():
    for kind in [*REQUIRED, "nagot_annat"]:
        text = decision_content(kind, {}, **{**PARTIES, "pupil_name": "", "unit_name": ""}).text()
        assert f"Elev: {MISSING}" in text and f"Skolenhet: {MISSING}" in text
        if kind in ("atgardsprogram", "program"):
            assert " | ".join([MISSING] * 4) in text and f"Uppföljning, när: {MISSING}" in text
        assert render_decision(kind, {}, **PARTIES).startswith(b"%PDF-")
    text = decision_content("ej_atgardsprogram", {}, **PARTIES).text()
    assert f"Pedagogisk bedömning: {MISSING}" in text
    assert "Beslutsdatum: 2026-01-20" in text  # no date given: the signing day


def test_identical_input_gives_identical_bytes():
    first = render_decision("atgardsprogram", PROGRAMME, **PARTIES)
    again = render_decision("atgardsprogram", json.loads(json.dumps(PROGRAMME)), **PARTIES)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(again).hexdigest()
    a_minute_later = {**PARTIES, "signed_at": SIGNED.replace(minute=31)}
    later = render_decision("atgardsprogram", PROGRAMME, **a_minute_later)
    assert later != first


def test_the_choice_labels_are_the_forms_own_titles():
    for form in FORMS.glob("*.json"):
        schema = json.loads(form.read_text(encoding="utf-8"))
        fields = dict(schema["properties"])
        for field in list(fields.values()):
            fields.update(field.get("items", {}).get("properties", {}))
        for key, field in fields.items():
            if key in LABELS and "oneOf" in field:
                assert LABELS[key] == {c["const"]: c["title"] for c in field["oneOf"]}, (form.name, key)


def test_text_is_made_printable_with_the_shipped_font():
    assert (FONT_DIRS[0] / "DejaVuSans.ttf").is_file() and (FONT_DIRS[0] / "LICENSE").is_file()
    assert clean("A\u0308sa Łukasz\tÖ\x07 \u0627") == "Äsa Łukasz    Ö? ?"  # NFC; a glyph the font lacks
    pdf = render_decision("program", {**PROGRAMME, "elevens_synpunkter": "Łukasz – “citat” ✓"}, **PARTIES,
                          compress=False)
    assert "Łukasz – “citat” ?" in " ".join(pdf_text(pdf).split())


def test_the_appeal_instructions_name_the_case_and_the_moved_last_day():
    """Issue 12: where to send the appeal and the case number to give; a last day on a holiday moves."""
    text = decision_content("atgardsprogram", PROGRAMME, **PARTIES, case_id=4711).text()
    assert ("Överklagandet ska skickas eller lämnas till skolenheten Ekskolan och märkas med ärendenummer "
            "4711.") in text
    assert "Skicka det inte direkt till Skolväsendets överklagandenämnd" in text
    assert "räcker det att det kommer in nästa vardag" in text


def test_the_appeal_instructions_give_the_units_postal_address_and_never_a_blank():
    with_address = decision_content("atgardsprogram", PROGRAMME, **PARTIES, case_id=12,
                                    unit_address="Box 12, 123 45 Exempelby").text()
    assert ("Överklagandet ska skickas eller lämnas till Ekskolan, Box 12, 123 45 Exempelby och märkas med "
            "ärendenummer 12.") in with_address
    blank = decision_content("atgardsprogram", PROGRAMME, **{**PARTIES, "unit_name": ""}, case_id=12,
                             unit_address="  ").text()
    assert "till den skolenhet som fattade beslutet och märkas med ärendenummer 12." in blank
