"""Decision documents as PDF, in Swedish, saying what the law asks (domain brief §2.5, §2.7, §8).

Two layers. `decision_content` builds a `Document` (title, legal ground, sections of label–value rows,
tables and paragraphs) from a case's data, read by the keys engine/routines/decision_fields.py lists
for each kind (the shipped routine `sarskilt_stod` collects them; a routine recording such a decision
must, or it is refused at publish); a missing answer prints as "—". `render` lays a Document out with fpdf2.

Identical input gives identical bytes, so a document's SHA-256 can be reproduced: the PDF's creation
date is the signing time, nothing random goes in, and the font is the one shipped in engine/documents/fonts/
(DejaVu Sans, subset to Latin, Greek and Cyrillic scripts — fpdf2's built-in fonts know only Latin-1,
so a name like "Łukasz" or a typed "–" would fail). Text is NFC-normalised; a character the font lacks
prints as "?".
"""
from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..routines.decision_fields import date_key, reason_key

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MISSING = "—"
FONT_DIRS = [Path(str(resources.files(__package__) / "fonts")), Path("/usr/share/fonts/truetype/dejavu")]

TITLES = {  # kind -> (title, legal ground)
    "atgardsprogram": ("Beslut om åtgärdsprogram", "3 kap. 9 § skollagen (2010:800)"),
    "sarskild_undervisningsgrupp": ("Beslut om åtgärdsprogram – särskild undervisningsgrupp",
                                    "3 kap. 9 och 11 §§ skollagen (2010:800)"),
    "enskild_undervisning": ("Beslut om åtgärdsprogram – enskild undervisning",
                             "3 kap. 9 och 11 §§ skollagen (2010:800)"),
    "distansundervisning": ("Beslut om åtgärdsprogram – distansundervisning",
                            "3 kap. 9 och 11 a §§ skollagen (2010:800)"),
    "anpassad_studiegang": ("Beslut om åtgärdsprogram – anpassad studiegång",
                            "3 kap. 9 och 12 §§ skollagen (2010:800)"),
    "ej_atgardsprogram": ("Beslut att inte utarbeta åtgärdsprogram", "3 kap. 9 § skollagen (2010:800)"),
    "avslut_atgardsprogram": ("Beslut att avsluta åtgärdsprogram", "3 kap. 9 § skollagen (2010:800)"),
    "avvisning_overklagande": ("Beslut att avvisa överklagande", "45 § förvaltningslagen (2017:900)"),
    "program": ("Åtgärdsprogram", "3 kap. 9 § skollagen (2010:800)"),
}
SPECIAL_FORMS = {"sarskild_undervisningsgrupp", "enskild_undervisning", "distansundervisning",
                 "anpassad_studiegang"}
PROGRAMME_KINDS = {"atgardsprogram", "program"} | SPECIAL_FORMS
# The titles of the forms' choices (tests/test_documents.py keeps them in step with the forms).
LABELS: dict[str, dict[str, str]] = {
    "niva": {"organisation": "Organisationsnivå", "grupp": "Gruppnivå", "individ": "Individnivå"},
    "sarskild_form": {"ingen": "Ingen särskild form",
                      "sarskild_undervisningsgrupp": "Särskild undervisningsgrupp",
                      "enskild_undervisning": "Enskild undervisning",
                      "anpassad_studiegang": "Anpassad studiegång",
                      "distansundervisning": "Distansundervisning"},
    "delaktighet_satt": {"mote": "Möte", "digitalt_mote": "Digitalt möte", "telefon": "Telefon",
                         "skriftligt": "Skriftligt", "avstod": "Erbjöds men avstod"},
    "bedomning_sarskilt_stod": {"behov": "Eleven är i behov av särskilt stöd",
                                "ej_behov": "Eleven är inte i behov av särskilt stöd"},
    "avslut_anledning": {"behov_upphort": "Behovet av särskilt stöd har upphört",
                         "lamnar_enheten": "Eleven lämnar skolenheten"},
    "elevens_asikt_hur": {"samtal": "Samtal med eleven", "mote": "Vid möte med eleven och vårdnadshavarna",
                          "skriftligt": "Skriftligt från eleven",
                          "genom_vardnadshavare": "Genom vårdnadshavare",
                          "genom_personal": "Genom personal som eleven har förtroende för",
                          "avstod": "Eleven erbjöds men ville inte uttrycka någon åsikt"},
    "utvardering_slutsats": {"fortsatt": "Programmet fortsätter oförändrat – inget nytt beslut (ange varför)",
                             "revidera": "Programmet ändras (nya, ändrade eller borttagna åtgärder, annan "
                                         "omfattning) – nytt beslut",
                             "avsluta": "Programmet avslutas – nytt beslut"},
}
APPEAL_HEADING = "Hur man överklagar beslutet"


def appeal_address(unit_name: str | None, case_id: int | None, unit_address: str | None) -> str:
    """Where to send the appeal: to the decision-maker, the school unit, which reconsiders the decision and
    then forwards the appeal to the board (45–46 §§ förvaltningslagen). Never a blank: with no postal
    address recorded, the school unit by name; with no name either, the school unit that decided."""
    unit = f"skolenheten {unit_name}" if unit_name else "den skolenhet som fattade beslutet"
    address = (unit_address or "").strip()
    to = f"{unit_name}, {address}" if unit_name and address else unit
    marked = f" och märkas med ärendenummer {case_id}" if case_id is not None else ""
    return (f"Överklagandet ska skickas eller lämnas till {to}{marked}. Skicka det inte direkt till "
            "Skolväsendets överklagandenämnd: beslutsfattaren på skolenheten tar emot överklagandet och "
            "lämnar det vidare till nämnden.")


#: Decisions about a pupil: each prints the pupil's view and the best-interest assessment.
ABOUT_THE_PUPIL = PROGRAMME_KINDS - {"program"} | {"ej_atgardsprogram", "avslut_atgardsprogram"}
CHILD_HEADING = "Elevens åsikt och barnets bästa"
CHILD_GROUND = ("I all utbildning som rör barn ska barnets bästa vara utgångspunkt, och elevens inställning "
                "ska så långt det är möjligt klarläggas (1 kap. 10 § skollagen; artikel 3 och 12 i "
                "barnkonventionen, lag 2018:1197).")
RECEIPT_COLUMNS = ("Mottagare", "Mottaget datum", "Hur beslutet lämnades")
RECEIPT_HEADING = "Delgivning"


def appeal_instructions(unit_name: str, case_id: int | None = None,
                        unit_address: str | None = None) -> tuple[str, ...]:
    """Överklagandehänvisning (28 kap. 16 § skollagen; 33 och 43–46 §§ förvaltningslagen; lag 1930:173),
    naming where the appeal is sent (the decision-maker's school unit, at its postal address when one is
    recorded) and the case number the appellant should mark it with."""
    return (
        "Beslutet kan överklagas hos Skolväsendets överklagandenämnd (28 kap. 16 § skollagen).",
        "Vem får överklaga: eleven själv om eleven har fyllt 16 år, annars elevens vårdnadshavare. "
        "Har eleven två vårdnadshavare ska båda stå bakom överklagandet.",
        "Så gör du: överklagandet ska vara skriftligt. Skriv vilket beslut du överklagar, vilken ändring du "
        "vill ha och varför. Skriv ditt namn, din adress, ditt telefonnummer eller din e-postadress, och "
        "underteckna överklagandet.",
        appeal_address(unit_name, case_id, unit_address),
        "Överklagandet måste ha kommit in inom tre veckor från den dag du fick del av beslutet. Infaller "
        "den sista dagen på en lördag, söndag, helgdag, midsommarafton, julafton eller nyårsafton räcker det "
        "att det kommer in nästa vardag. Kommer det in för sent kan det avvisas.",
        "Därefter prövar beslutsfattaren om beslutet ska ändras. Ändras det inte skickas överklagandet "
        "med ett yttrande till Skolväsendets överklagandenämnd, vars beslut inte kan överklagas.",
        "Behöver du hjälp att överklaga kan du vända dig till rektor eller skolans expedition.",
    )


@dataclass(frozen=True)
class Section:
    heading: str
    rows: tuple[tuple[str, str], ...] = ()  # label, value
    table: tuple[tuple[str, ...], ...] = ()  # the first row is the table's heading
    paragraphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    title: str
    legal_ground: str
    sections: tuple[Section, ...]
    letterhead: tuple[str, ...] = ()  # lines above the title: the organiser, the school unit, its address

    def text(self) -> str:
        """Everything the document says, as plain text (for tests and search)."""
        parts = [*self.letterhead, self.title, self.legal_ground]
        for s in self.sections:
            parts += [s.heading, *(f"{k}: {v}" for k, v in s.rows), *(" | ".join(r) for r in s.table),
                      *s.paragraphs]
        return "\n".join(parts)


PROTECTED = "Skyddad identitet – uppgiften lämnas inte ut"


@dataclass(frozen=True)
class Letterhead:
    """Who issues a document and whom it is about, beyond the names: the organiser and the school unit's
    postal address (the letterhead), the case's diarienummer, and the pupil's class and birth date —
    `protected` (skyddad identitet) prints neither class nor birth date. Elevflow keeps no personnummer
    (docs/organisation.md), so the birth date is what identifies the pupil beside the name."""

    organiser: str | None = None
    unit: str | None = None
    address: str | None = None
    diary_number: str | None = None
    pupil_class: str | None = None
    pupil_birth_date: str | None = None
    protected: bool = False

    def lines(self) -> tuple[str, ...]:
        return tuple(line for line in (self.organiser, self.unit, (self.address or "").strip()) if line)

    def pupil_rows(self) -> tuple[tuple[str, str], ...]:
        if self.protected:
            return (("Klass", PROTECTED), ("Födelsedatum", PROTECTED))
        return (("Klass", self.pupil_class or MISSING), ("Födelsedatum", self.pupil_birth_date or MISSING))

    def case_rows(self) -> tuple[tuple[str, str], ...]:
        return (("Diarienummer", self.diary_number),) if self.diary_number else ()


def with_letterhead(document: Document, head: Letterhead | None, *, pupil: bool) -> Document:
    """The document with the letterhead above its title and, in its first section (the parties), the
    diarienummer and — for a pupil's case — the pupil's class and birth date after the pupil's name."""
    if head is None:
        return document
    first, *rest = document.sections or (Section(""),)
    rows = list(first.rows)
    at = next((i + 1 for i, (label, _v) in enumerate(rows) if label == "Elev"), 0)
    rows[at:at] = head.pupil_rows() if pupil else ()
    first = Section(first.heading, (*head.case_rows(), *rows), first.table, first.paragraphs)
    return Document(document.title, document.legal_ground, (first, *rest), head.lines())


def _v(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or value == "" or value == []:
        return MISSING
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    return LABELS.get(key, {}).get(value, str(value)) if isinstance(value, str) else str(value)


def _table(heading: tuple[str, ...], items: Any, keys: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    rows = [tuple(_v(item, k) for k in keys) for item in items if isinstance(item, dict)] \
        if isinstance(items, list) else []
    return (heading, *(rows or [tuple(MISSING for _ in keys)]))


def _programme(kind: str, d: dict[str, Any]) -> list[Section]:
    investigation = d.get("ap_utredning_referens") or (
        f"Utredning avslutad {d['utredning_avslutad_datum']}" if d.get("utredning_avslutad_datum") else None)
    special = [("Form", LABELS["sarskild_form"].get(kind) or _v(d, "sarskild_form"))]
    notes: tuple[str, ...] = ()
    if kind in SPECIAL_FORMS:
        special += [("Omfattning", _v(d, "sarskild_form_omfattning")),
                    ("Särskilda skäl", _v(d, "sarskild_form_sarskilda_skal"))]
        if kind == "distansundervisning":
            special += [("Vårdnadshavarnas medgivande", _v(d, "distans_medgivande")),
                        ("Medgivande lämnat", _v(d, "distans_medgivande_datum"))]
        notes = ("Beslutet fattas av rektor personligen och får inte delegeras (3 kap. 9 § andra stycket "
                 "skollagen).",)
    who = d.get("uppfoljning_ansvarig_namn") or MISSING
    return [
        Section("Utredning som beslutet grundar sig på", rows=(
            ("Utredning", investigation or MISSING),
            ("Pedagogisk bedömning", _v(d, "bedomning_sarskilt_stod")))),
        Section("Elevens behov av särskilt stöd", table=_table(("Område", "Behov"), d.get("ap_behov"),
                                                                ("omrade", "behov"))),
        Section("Åtgärder", table=_table(("Åtgärd", "Nivå", "Omfattning och frekvens", "Ansvarig"),
                                         d.get("ap_atgarder"), ("atgard", "niva", "omfattning", "ansvarig"))),
        Section("Särskild form av stöd", rows=tuple(special), paragraphs=notes),
        Section("Uppföljning och utvärdering", rows=(
            ("Uppföljning, när", _v(d, "uppfoljning_datum")), ("Uppföljning, av vem", who),
            ("Utvärdering, när", _v(d, "uppfoljning_datum")), ("Utvärdering, av vem", who),
            ("Ansvarig för åtgärdsprogrammet", _v(d, "ap_ansvarig_beskrivning")))),
        Section("Elevens och vårdnadshavarnas delaktighet", rows=(
            ("Delaktighet erbjuden", _v(d, "delaktighet_erbjuden_datum")), ("Hur", _v(d, "delaktighet_satt")),
            ("Elevens synpunkter", _v(d, "elevens_synpunkter")),
            ("Vårdnadshavarnas synpunkter", _v(d, "vardnadshavarnas_synpunkter")))),
    ]


def _body(kind: str, d: dict[str, Any]) -> list[Section]:
    """The sections between the parties and the reasons, per kind of decision."""
    if kind in PROGRAMME_KINDS:
        said = () if kind == "program" else ("Ett åtgärdsprogram upprättas för eleven enligt nedan.",)
        return [Section("Beslut", paragraphs=said)] * bool(said) + _programme(kind, d)
    if kind == "ej_atgardsprogram":
        sections = [Section("Beslut", paragraphs=("Något åtgärdsprogram ska inte utarbetas för eleven.",)),
                    Section("Utredning som beslutet grundar sig på", rows=(
                        ("Utredningen avslutad", _v(d, "utredning_avslutad_datum")),
                        ("Pedagogisk bedömning", _v(d, "bedomning_sarskilt_stod"))))]
        # the form requires the reasons (engine/routines/formcheck.py)
        if d.get("bedomning_sarskilt_stod") == "behov":
            sections.append(Section("Skäl att avvika från den pedagogiska bedömningen",
                                     paragraphs=(_v(d, "beslut_ej_avvikelse_skal"),)))
        return [*sections,
                Section("Hur elevens behov tillgodoses", paragraphs=(_v(d, "beslut_ej_behov_tillgodoses"),))]
    if kind == "avslut_atgardsprogram":
        return [Section("Beslut", paragraphs=("Elevens åtgärdsprogram avslutas.",)),
                Section("Åtgärdsprogrammet som avslutas", rows=(("Beslutat", _v(d, "beslut_ap_datum")),)),
                Section("Utvärdering och uppdaterad bedömning", rows=(
                    ("Utvärdering", _v(d, "utvardering_datum")), ("Slutsats", _v(d, "utvardering_slutsats")),
                    ("Uppdaterad bedömning, datum", _v(d, "bedomning_uppdaterad_datum")),
                    ("Uppdaterad bedömning", _v(d, "bedomning_uppdaterad")),
                    ("Anledning till avslut", _v(d, "avslut_anledning")))),
                Section("Extra anpassningar som fortsätter",
                        paragraphs=(_v(d, "avslut_fortsatta_anpassningar"),))]
    if kind == "avvisning_overklagande":
        return [Section("Beslut", paragraphs=("Överklagandet avvisas eftersom det har kommit in för sent.",)),
                Section("Överklagandet", rows=(("Kom in", _v(d, "overklagande_inkom_datum")),))]
    return [Section("Beslut", paragraphs=(_v(d, "beslut"),))]


def decision_content(kind: str, data: dict[str, Any], *, signer_name: str, delegation_ref: str | None,
                     signed_at: datetime, unit_name: str, pupil_name: str | None,
                     case_id: int | None = None, unit_address: str | None = None,
                     own: tuple[str | None, str, tuple[Section, ...]] = (None, "", ())) -> Document:
    """The document's content: the parties, the decision's own sections, the reasons, who decided and
    when, how to appeal and the receipt record (the programme itself, kind "program", has neither).
    `pupil_name` None: a unit-level case's decision, which names the school unit only. `own`: the title,
    legal ground and sections the routine declares for the kind (engine/documents/document_sections.py); its
    sections follow the decision's own, and its title is used for a kind Elevflow has none for."""
    title, ground = TITLES.get(kind) or ((own[0], own[1]) if own[0] else ("Beslut", ""))
    local = signed_at.astimezone(STOCKHOLM)
    decided_on = data.get(date_key(kind)) or local.date().isoformat()
    unit_row = ("Skolenhet", unit_name or MISSING)
    parties = Section("Skolenhet", rows=(unit_row,)) if pupil_name is None else \
        Section("Elev och skolenhet", rows=(("Elev", pupil_name or MISSING), unit_row))
    sections = [parties, *_body(kind, data), *own[2]]
    if kind in ABOUT_THE_PUPIL:
        sections.append(Section(CHILD_HEADING, rows=(
            ("Hur elevens åsikt inhämtades", _v(data, "elevens_asikt_hur")),
            ("Elevens åsikt", _v(data, "elevens_asikt")),
            ("Bedömning av elevens bästa", _v(data, "barnets_basta"))), paragraphs=(CHILD_GROUND,)))
    if kind != "program":
        reason = data.get(reason_key(kind)) or next(
            (v for k, v in sorted(data.items()) if k.endswith("_motivering") and v), None)
        sections.append(Section("Skäl för beslutet", paragraphs=(str(reason) if reason else MISSING,)))
    maker = "Rektor" if delegation_ref is None else \
        "Delegat enligt rektors delegationsbeslut (2 kap. 10 § skollagen)"
    rows = [("Beslutsdatum", str(decided_on)), ("Beslutsfattare", signer_name or MISSING),
            ("Befogenhet", maker)]
    if delegation_ref is not None:
        rows.append(("Delegationsbeslut", delegation_ref or MISSING))
    rows.append(("Signerat", f"elektroniskt i Elevflow {local:%Y-%m-%d} kl. {local:%H.%M}"))
    sections.append(Section("Beslutsfattare", rows=tuple(rows)))
    if kind != "program":
        sections.append(Section(APPEAL_HEADING, paragraphs=appeal_instructions(unit_name, case_id,
                                                                                   unit_address)))
        sections.append(Section(RECEIPT_HEADING, table=(RECEIPT_COLUMNS, *[("", "", "")] * 3), paragraphs=(
            "Överklagandetiden räknas från den dag mottagaren fick del av beslutet. Skolan för in dagen för "
            "varje mottagare.",)))
    return Document(title, ground, tuple(sections))


DRAFT_MARK = "UTKAST – INTE SIGNERAT"
DRAFT_NOTE = ("Detta är en förhandsgranskning. Beslutet är inte fattat förrän det har signerats i Elevflow, "
              "och det signerade dokumentet är det som gäller.")


def render_decision(kind: str, data: dict[str, Any], *, signer_name: str, delegation_ref: str | None,
                    signed_at: datetime, unit_name: str, pupil_name: str | None, compress: bool = True,
                    draft: bool = False, case_id: int | None = None, unit_address: str | None = None,
                    own: tuple[str | None, str, tuple[Section, ...]] = (None, "", ()),
                    letterhead: Letterhead | None = None) -> bytes:
    """The decision as PDF bytes (same input, same bytes). A `draft` says so in its title and first
    section: what the signer reviews before signing. With a `letterhead`, the organiser and the unit's
    address head the page, and the parties name the diarienummer and the pupil's class and birth date."""
    document = with_letterhead(
        decision_content(kind, data, signer_name=signer_name, delegation_ref=delegation_ref,
                         signed_at=signed_at, unit_name=unit_name, pupil_name=pupil_name,
                         case_id=case_id, unit_address=unit_address, own=own),
        letterhead, pupil=pupil_name is not None)
    if draft:
        document = Document(f"{DRAFT_MARK}: {document.title}", document.legal_ground,
                            (Section(DRAFT_MARK, paragraphs=(DRAFT_NOTE,)), *document.sections),
                            document.letterhead)
    return render(document, created_at=signed_at, compress=compress)


# --- layout ----------------------------------------------------------------------------------------------

@functools.cache
def _font(style: str) -> Path:
    name = "DejaVuSans-Bold.ttf" if style == "B" else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} is in none of {', '.join(map(str, FONT_DIRS))}")


@functools.cache
def _known() -> frozenset[int]:
    from fontTools.ttLib import TTFont
    with TTFont(str(_font(""))) as font:
        return frozenset(font.getBestCmap())


def clean(value: str) -> str:
    """Text as the font can print it: NFC, tabs as spaces, other control characters and glyphs the font
    lacks as "?" (line breaks kept)."""
    known = _known()
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\t", "    ")
    return "".join(c if c == "\n" or (ord(c) >= 32 and ord(c) in known) else "?" for c in text)


def render(document: Document, *, created_at: datetime, compress: bool = True) -> bytes:
    """Lay the document out on A4 pages: title, legal ground, then each section. (fpdf2 is imported
    here, not with the module: it takes longer to import than the rest of the engine.)"""
    from fpdf import FPDF

    class Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.cell(0, 5, f"Elevflow – sida {self.page_no()} av {{nb}}", align="C")

    pdf = Pdf(format="A4")
    pdf.set_compression(compress)
    pdf.set_creation_date(created_at)
    pdf.set_title(clean(document.title))
    pdf.set_creator("Elevflow")
    pdf.set_lang("sv-SE")
    pdf.add_font("DejaVu", "", str(_font("")))
    pdf.add_font("DejaVu", "B", str(_font("B")))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    if document.letterhead:
        pdf.set_font("DejaVu", "B", 10)
        pdf.multi_cell(0, 5, clean(document.letterhead[0]), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        for line in document.letterhead[1:]:
            pdf.multi_cell(0, 4.5, clean(line), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, clean(document.title), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, clean(document.legal_ground), align="L", new_x="LMARGIN", new_y="NEXT")
    for section in document.sections:
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 6, clean(section.heading), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)
        if section.rows:
            _rows(pdf, [(clean(k), clean(v)) for k, v in section.rows], (35, 65), False, "NONE")
        if section.table:
            _rows(pdf, [tuple(clean(c) for c in r) for r in section.table], None, True, "SINGLE_TOP_LINE")
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 5, clean(paragraph), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    return bytes(pdf.output())


def _rows(pdf: Any, rows: list[tuple[str, ...]], widths: tuple[int, ...] | None, heading: bool,
          borders: str) -> None:
    """A table: label–value rows without lines, or a table whose first row is its (bold) heading."""
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5, borders_layout=borders,
                   first_row_as_headings=heading, padding=1) as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
