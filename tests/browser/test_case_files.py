"""A case's documents and attachments in a real browser: the rektor of a särskilt stöd case with a decided
programme sees its diarienummer, downloads the utredning and the åtgärdsprogram as PDF, attaches a file
from the page, downloads and removes it (confirming first); axe finds nothing serious in those sections."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import routine_scenarios as rs
import time_machine
from routine_walks import drive
from sqlalchemy import select
from test_routines import START, build_school

from elevflow.engine import open_case
from elevflow.engine.org import passwords
from elevflow.engine.storage.models import User

from .axe import serious_violations
from .conftest import PASSWORD, log_in, screenshot, serve

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def engine_user(engine, username: str) -> int:
    with engine.db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def decided(engine, db_url) -> Iterator[tuple[str, int]]:
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        delivery = drive(engine, school, clock, rs.SS, "Task_delge_beslut")
    passwords.set_password(engine, "rektor", PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address, delivery.case_id


def test_the_case_page_offers_its_documents_and_takes_attachments(page, decided, engine, tmp_path):
    site, case_id = decided
    log_in(page, site, "rektor")
    page.goto(f"{site}/arenden/{case_id}")
    rektor = engine_user(engine, "rektor")
    assert page.locator("#diarienummer").inner_text() == open_case(engine, rektor, case_id).diary_number
    for link, name in (("Utredningen (PDF)", f"utredning-arende-{case_id}.pdf"),
                       ("Åtgärdsprogrammet (PDF)", f"atgardsprogram-arende-{case_id}.pdf")):
        with page.expect_download() as got:
            page.get_by_role("link", name=link).click()
        assert got.value.suggested_filename == name
        assert Path(got.value.path()).read_bytes().startswith(b"%PDF-")

    report = tmp_path / "Utlåtande BUP.pdf"
    report.write_bytes(PDF)
    page.get_by_label("Bifoga en fil").set_input_files(str(report))
    page.get_by_role("button", name="Bifoga", exact=True).click()
    page.get_by_text("Utlåtande BUP.pdf är bifogad.").wait_for()
    assert page.url.endswith("#bilagor")
    with page.expect_download() as got:
        page.get_by_role("link", name="Utlåtande BUP.pdf").click()
    assert Path(got.value.path()).read_bytes() == PDF
    # the sections this test is about (the diagram's own findings are the case page's test's)
    for section in ("#dokument", "#bilagor", "dl.facts"):
        assert serious_violations(page, section) == [], section
    screenshot(page, "case-files")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Ta bort Utlåtande BUP.pdf").click()
    page.get_by_text("Bilagan är borttagen.").wait_for()
    assert page.get_by_role("link", name="Utlåtande BUP.pdf").count() == 0
    assert page.get_by_text("Inga bilagor.").count() == 1
