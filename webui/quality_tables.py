"""The quality follow-up's figures as labelled tables, in the user's language: one shape for the page,
the CSV and XLSX exports and the PDF report (engine/oversight/quality.py computes the figures).

A hidden figure (a small count, or a time or share resting on fewer than five cases) prints as
"färre än 5" / "–" and is never a number in any export.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

from elevflow.engine.documents import pdf as documents
from elevflow.engine.oversight.quality import Cell, Dashboard


def measures() -> dict[str, str]:
    """The names of the shipped routines' figures, in the user's language; a routine's own figure is
    named by its `label:KEY` (docs/quality.md), else by its key."""
    return {
        "anmalningar": _("Anmälningar till rektor"),
        "utredningar": _("Inledda utredningar"),
        "atgardsprogram": _("Beslut om åtgärdsprogram"),
        "sarskild_form": _("varav särskild form (3 kap. 11–12 §§)"),
        "ej_atgardsprogram": _("Beslut att inte utarbeta åtgärdsprogram"),
        "avslut_atgardsprogram": _("Beslut att avsluta åtgärdsprogram"),
        "overklaganden": _("Överklaganden"),
        "avbrutna_efter_anmalan": _("Anmälda ärenden som avbrutits"),
        "kb_anmalningar": _("Anmälningar om kränkande behandling"),
        "kb_avslutade": _("Avslutade ärenden om kränkande behandling"),
        "franvaroutredningar": _("Inledda frånvaroutredningar"),
        "franvaro_avslutade": _("Avslutade frånvaroärenden"),
        "avvikelser": _("Avvikelser i samverkan"),
        "avvikelser_rapporterade": _("Avvikelser rapporterade till BUS-sekretariatet"),
        "arshjul_avstamningar": _("Årshjulets avstämningar"),
        "forsenade": _("Försenade steg nu"),
    }


def lead_times() -> dict[str, str]:
    return {
        "anmalan_till_utredning": _("Anmälan → utredning inledd"),
        "utredning_till_beslut": _("Utredning inledd → beslut"),
        "anmalan_till_beslut": _("Anmälan → beslut"),
        "beslut_till_uppfoljning": _("Beslut om åtgärdsprogram → första uppföljning"),
        "kb_till_huvudman": _("Kränkning anmäld → anmäld till huvudmannen"),
        "kb_till_avslut": _("Kränkning anmäld → ärendet avslutat"),
        "franvaro_till_utredning": _("Frånvarosignal → utredning inledd"),
        "franvaro_till_avslut": _("Frånvaroutredning inledd → avslutad"),
    }


def breakdowns() -> dict[str, str]:
    return {
        "sarskild_form": _("Särskilda former av stöd, som bara rektor beslutar om"),
        "overklagande_utfall": _("Överklaganden: utfall"),
        "kb_bedomning": _("Kränkande behandling: bedömning"),
        "kb_inblandade": _("Kränkande behandling: vem som utpekas"),
        "kb_form": _("Kränkande behandling: form"),
        "franvaro_sarskilt_stod": _("Frånvaroutredningar: behov av särskilt stöd utreds"),
        "avbrytande_grund": _("Anmälda ärenden som avbrutits: skäl"),
    }


def named(names: dict[str, str], key: str, label: str = "") -> str:
    """A figure's or a part's name: Elevflow's own, translated; else the routine's label; else its key."""
    return str(names[key]) if key in names else label or key


def parts() -> dict[str, str]:
    return {
        "sarskild_undervisningsgrupp": _("Särskild undervisningsgrupp (3 kap. 11 §)"),
        "enskild_undervisning": _("Enskild undervisning (3 kap. 11 §)"),
        "distansundervisning": _("Distansundervisning (3 kap. 11 a §)"),
        "anpassad_studiegang": _("Anpassad studiegång (3 kap. 12 §)"),
        "avvisat_for_sent": _("Avvisat av skolan: för sent"),
        "andrat_vid_omprovning": _("Ändrat vid omprövningen"),
        "avslag": _("Avslaget av nämnden"),
        "andrat": _("Ändrat av nämnden"),
        "aterforvisat": _("Återförvisat av nämnden"),
        "avvisat": _("Avvisat av nämnden"),
        "krankande_behandling": _("Kränkande behandling"),
        "trakasserier": _("Trakasserier"),
        "sexuella_trakasserier": _("Sexuella trakasserier"),
        "ej_konstaterat": _("Inte konstaterat"),
        "elev_elev": _("Elev mot elev"),
        "personal_elev": _("Personal mot elev"),
        "okand": _("Okänt"),
        "fysisk": _("Fysisk"),
        "verbal": _("Verbal"),
        "psykosocial": _("Psykosocial"),
        "digital": _("Digital"),
        "elev_flyttat": _("Eleven har flyttat"),
        "dubblett": _("Dubblett av ett annat ärende"),
        "true": _("Ja"),
        "false": _("Nej"),
    }


@dataclass(frozen=True)
class Table:
    """A titled table: a header, then rows whose first value is a label and the rest Cells; `kinds`
    says how each Cell column reads ("count", "days" or "share")."""

    key: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    kinds: list[str]


def hidden_text() -> str:
    return _("färre än 5")


def show(cell: Cell, kind: str = "count") -> str:
    """A figure as the page and the PDF print it."""
    if cell.suppressed:
        return hidden_text() if kind == "count" else _("för få ärenden")
    if cell.value is None:
        return "–"
    if kind == "share":
        return format_percent(cell.value, "#,##0 %")
    if kind == "days":
        return format_decimal(cell.value, "#,##0.#")
    return format_decimal(cell.value, "#,##0")


def raw(cell: Cell) -> Any:
    """A figure as the exports hold it: a number, empty, or the words for a hidden one."""
    if cell.suppressed:
        return hidden_text()
    return cell.value


def tables(dash: Dashboard, routine_names: dict[str, str]) -> list[Table]:
    """Every table of the follow-up, in the order the page shows them."""
    terms = [t.label for t in dash.terms]
    labels, leads, heads, names = measures(), lead_times(), breakdowns(), parts()
    found = [Table("per_termin", _("Antal per termin"), [_("Vad"), *terms],
                   [[named(labels, s.key, s.label), *[s.by_term[t.key] for t in dash.terms]]
                    for s in dash.counts],
                   ["count"] * len(terms))]
    if dash.lead_times:
        found.append(Table("ledtider", _("Ledtider i dagar, %(term)s", term=dash.selection.term.label),
                           [_("Mellan"), _("Median"), _("90:e percentilen"), _("Antal ärenden")],
                           [[named(leads, t.key, t.label), t.median, t.p90, t.n] for t in dash.lead_times],
                           ["days", "days", "count"]))
    for b in dash.breakdowns:
        found.append(Table(b.key, f"{named(heads, b.key, b.label)}, {dash.selection.term.label}",
                           [_("Vad"), _("Antal")], [[named(names, p), cell] for p, cell in b.parts.items()],
                           ["count"]))
    if dash.steps:
        found.append(Table(
            "steg", _("Steg i rutinerna, %(term)s", term=dash.selection.term.label),
            [_("Rutin"), _("Steg"), _("Klara"), _("I tid"), _("Median, dagar"), _("90:e percentilen, dagar"),
             _("Pågår nu"), _("Försenade nu")],
            [[routine_names.get(s.routine, s.routine), s.name, s.passed, s.on_time, s.median, s.p90,
              s.open_now, s.overdue_now] for s in dash.steps],
            ["count", "share", "days", "days", "count", "count"]))
    if len(dash.units) > 1:
        keys = list(dash.units[0].counts)
        declared = {s.key: s.label for s in dash.counts}
        found.append(Table("per_enhet", _("Per skolenhet, %(term)s", term=dash.selection.term.label),
                           [_("Skolenhet"), *[named(labels, k, declared.get(k, "")) for k in keys]],
                           [[u.name, *[u.counts[k] for k in keys]] for u in dash.units],
                           ["count"] * len(keys)))
    return found


# What makes a spreadsheet program read a cell as a formula (OWASP, CSV injection): =, +, - and @, also as
# their full-width forms (which some programs fold to the ASCII ones), and a leading tab, CR or LF.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULA_SPACE = ("\t", "\r", "\n")


def is_formula_like(value: object) -> bool:
    """Whether a spreadsheet program could take this text for a formula (leading spaces do not help)."""
    return isinstance(value, str) and (value.startswith(FORMULA_SPACE)
                                       or value.lstrip().startswith(FORMULA_START))


def csv_cell(value: object) -> object:
    """A cell for the CSV file: text a spreadsheet could run is prefixed with an apostrophe, so it is shown
    as the text it is. Every cell goes through this — step, routine and unit names come from routines and
    the organisation, not from Elevflow."""
    return "'" + value if is_formula_like(value) else value


def label_columns(table: Table) -> int:
    """How many leading columns are labels (the steps table has two: routine and step)."""
    return len(table.header) - len(table.kinds)


def to_csv(found: list[Table]) -> bytes:
    """One CSV file, the tables one after another, each headed by its title (UTF-8 with a byte order
    mark, so spreadsheet programs read å, ä and ö)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate(found):
        if i:
            writer.writerow([])
        writer.writerow([csv_cell(table.title)])
        writer.writerow([csv_cell(h) for h in table.header])
        for row in table.rows:
            n = label_columns(table)
            writer.writerow([csv_cell(c) for c in [*row[:n], *["" if raw(c) is None else raw(c)
                                                                  for c in row[n:]]]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(found: list[Table]) -> bytes:
    """One workbook, a sheet per table (openpyxl). Text is always written as text: openpyxl would store a
    string beginning with "=" as a formula, so every cell that looks like one is typed as a string and
    marked quote-prefixed (the program shows it as written and keeps it text when edited)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in found:
        sheet = book.create_sheet(_sheet_name(table.title, book.sheetnames))
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table.header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        n = label_columns(table)
        for row in table.rows:
            sheet.append([*row[:n], *[raw(c) for c in row[n:]]])
        for line in sheet.iter_rows():
            for cell in line:
                if is_formula_like(cell.value):
                    cell.data_type, cell.quotePrefix = "s", True
        sheet.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(title: str, taken: list[str]) -> str:
    name = "".join(c for c in title if c not in "[]:*?/\\")[:28].strip() or "Blad"
    candidate, i = name, 2
    while candidate in taken:
        candidate, i = f"{name[:26]} {i}", i + 1
    return candidate


def to_pdf(found: list[Table], *, title: str, subtitle: str, note: str, created_at: datetime) -> bytes:
    """The report as PDF, laid out by the decision documents' renderer (DejaVu Sans, A4)."""
    sections = [documents.Section(_("Om siffrorna"), paragraphs=(note,))]
    for table in found:
        n = label_columns(table)
        rows = tuple((*map(str, row[:n]), *[show(c, k) for c, k in zip(row[n:], table.kinds, strict=True)])
                     for row in table.rows)
        sections.append(documents.Section(table.title, table=(tuple(table.header), *rows)))
    return documents.render(documents.Document(title, subtitle, tuple(sections)), created_at=created_at)
