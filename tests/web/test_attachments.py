"""Attachments on a case over HTTP (engine/documents/attachments.py): added on the case page with their
checksum, checked by kind and size, run through the virus-scan command (a real script here), listed and
served per need-to-know and the medical zone, access-logged, audited when added and removed."""
from __future__ import annotations

import hashlib
import io
import re
import stat
import zipfile

import pytest
from sqlalchemy import select

from elevflow.engine.org import passwords
from elevflow.engine.org import records as org
from elevflow.engine.storage.models import AccessLogEntry, AuditEvent, CaseAttachment

from .conftest import PASSWORD, csrf, login, text

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SCANNER = """#!/bin/sh
# A stand-in for clamdscan: exit 1 ("found") for the EICAR test string, 2 (an error) for a file that asks
# for one, 0 otherwise. It reads the file it is given, as clamdscan does.
if grep -q "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" "$1"; then echo "$1: Eicar-Signature FOUND"; exit 1; fi
if grep -q "BREAK-THE-SCANNER" "$1"; then echo "cannot connect to clamd" >&2; exit 2; fi
echo "$1: OK"
"""


@pytest.fixture
def scanner(tmp_path):
    path = tmp_path / "scan.sh"
    path.write_text(SCANNER)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def case_id(open_task):
    return open_task.case_id


def as_user(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def upload(client, case_id, name, content):
    return client.post(f"/arenden/{case_id}/bilagor", content_type="multipart/form-data", data={
        "csrf_token": csrf(client, f"/arenden/{case_id}"), "fil": (io.BytesIO(content), name)},
        follow_redirects=True)


def stored(engine):
    with engine.db.read() as s:
        return s.scalars(select(CaseAttachment).order_by(CaseAttachment.id)).all()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def test_a_file_is_attached_listed_downloaded_and_removed_with_checksum_log_and_audit(
        make_app, engine, people, case_id, scanner):
    app = make_app(VIRUS_SCAN_COMMAND=scanner)
    teacher = as_user(app, "teacher")
    page = text(upload(teacher, case_id, "Testresultat läsning.pdf", PDF))
    assert "Testresultat läsning.pdf är bifogad." in page
    [row] = stored(engine)
    assert (row.filename, row.content_type, row.size, row.medical) == (
        "Testresultat läsning.pdf", "application/pdf", len(PDF), False)
    assert row.sha256 == hashlib.sha256(PDF).hexdigest() and bytes(row.content) == PDF
    assert row.sha256 in page and f"/arenden/{case_id}/bilagor/{row.id}" in page
    assert "En bilaga lades till" in page  # the timeline, without the file's name

    rektor = as_user(app, "rektor")  # sees the case (rule 1) and so the file
    got = rektor.get(f"/arenden/{case_id}/bilagor/{row.id}")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert as_user(app, "outsider").get(f"/arenden/{case_id}/bilagor/{row.id}").status_code == 404
    assert upload(as_user(app, "outsider"), case_id, "x.pdf", PDF).status_code == 404

    with engine.db.read() as s:
        logged = s.execute(select(AccessLogEntry.action, AccessLogEntry.user_id, AccessLogEntry.allowed)
                           .where(AccessLogEntry.action.in_(["add_attachment", "download_attachment"]))
                           .order_by(AccessLogEntry.id)).all()
    assert [tuple(r) for r in logged] == [("add_attachment", people.teacher, True),
                                          ("download_attachment", people.rektor, True),
                                          ("download_attachment", people.outsider, False),
                                          ("add_attachment", people.outsider, False)]

    mentor = as_user(app, "mentor")  # not the one who added it, nor the rektor
    token = csrf(teacher, f"/arenden/{case_id}")
    assert mentor.post(f"/arenden/{case_id}/bilagor/{row.id}/ta-bort",
                       data={"csrf_token": csrf(mentor, "/uppgifter")}).status_code in (403, 404)
    gone = teacher.post(f"/arenden/{case_id}/bilagor/{row.id}/ta-bort", data={"csrf_token": token},
                        follow_redirects=True)
    assert "Bilagan är borttagen." in text(gone)
    [row] = stored(engine)
    assert row.content is None and row.removed_by == people.teacher and row.removed_at is not None
    assert rektor.get(f"/arenden/{case_id}/bilagor/{row.id}").status_code == 404
    with engine.db.read() as s:
        events = s.execute(select(AuditEvent.kind, AuditEvent.data).where(
            AuditEvent.kind.in_(["attachment_added", "attachment_removed"])).order_by(AuditEvent.seq)).all()
    assert [e.kind for e in events] == ["attachment_added", "attachment_removed"]
    assert events[0].data["sha256"] == events[1].data["sha256"] == hashlib.sha256(PDF).hexdigest()


@pytest.mark.parametrize(("name", "content", "said"), [
    ("utlatande.pdf", PDF + EICAR, "viruskontrollen stoppade filen"),
    ("utlatande.txt", EICAR, "viruskontrollen stoppade filen"),
    ("anteckning.txt", b"BREAK-THE-SCANNER", "viruskontrollen kunde inte granska filen"),
    ("program.exe", b"MZ\x90\x00", "filer som slutar på ”exe” kan inte bifogas"),
    ("utlatande.pdf", b"<html>not a pdf</html>", "filens innehåll är inte det som namnet säger (pdf)"),
    ("bild.png", PDF, "filens innehåll är inte det som namnet säger (png)"),
    ("tom.pdf", b"", "filen är tom"),
    ("stor.txt", b"a" * (1024 * 1024 + 1), "filen är större än 1 MB"),
])
def test_a_refused_file_stores_nothing_and_says_why(make_app, engine, people, case_id, scanner, name, content,
                                                    said):
    app = make_app(VIRUS_SCAN_COMMAND=scanner, ATTACHMENT_MAX_MB="1")
    page = text(upload(as_user(app, "teacher"), case_id, name, content))
    assert said in page.replace("&#34;", '"') and stored(engine) == []
    with engine.db.read() as s:
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.kind == "attachment_added")) is None


def test_the_allowed_kinds_pass_their_content_check_and_the_name_is_cleaned(make_app, engine, people, case_id,
                                                                             scanner):
    app = make_app(VIRUS_SCAN_COMMAND=f"{scanner} {{path}}")
    teacher = as_user(app, "teacher")
    for name, content in [("../../etc/Rapport BUP.docx", docx()), ("anteckning.txt", "Åsa läser".encode()),
                          ("bild.png", b"\x89PNG\r\n\x1a\n" + bytes(20))]:
        assert "är bifogad" in text(upload(teacher, case_id, name, content)), name
    assert [r.filename for r in stored(engine)] == ["Rapport BUP.docx", "anteckning.txt", "bild.png"]


def test_a_scanner_that_cannot_run_refuses_the_file(make_app, engine, people, case_id, tmp_path):
    app = make_app(VIRUS_SCAN_COMMAND=str(tmp_path / "no-such-scanner"))
    assert "viruskontrollen kunde inte granska filen" in text(
        upload(as_user(app, "teacher"), case_id, "utlatande.pdf", PDF))
    assert stored(engine) == []


def test_a_file_the_school_nurse_adds_is_the_medical_parts_own(make_app, engine, people, case_id):
    with engine.db.write() as s:
        nurse = org.add_user(s, "nurse", "Sköterska Syster", "nurse@example.se").id
        org.assign_role(s, nurse, people.unit, "skolskoterska")
    passwords.set_password(engine, "nurse", PASSWORD)
    app = make_app()
    assert "är bifogad" in text(upload(as_user(app, "teacher"), case_id, "larare.pdf", PDF))
    nurse_client = as_user(app, "nurse")
    assert "är bifogad" in text(upload(nurse_client, case_id, "journalutdrag.pdf", PDF))
    teacher_file, medical_file = stored(engine)
    assert (teacher_file.medical, medical_file.medical) == (False, True)
    rektor = as_user(app, "rektor")
    page = text(rektor.get(f"/arenden/{case_id}"))
    assert "larare.pdf" in page and "journalutdrag.pdf" not in page
    assert rektor.get(f"/arenden/{case_id}/bilagor/{medical_file.id}").status_code == 404
    page = text(nurse_client.get(f"/arenden/{case_id}"))
    assert "larare.pdf" in page and "journalutdrag.pdf" in page
    assert re.search(r"journalutdrag\.pdf</a>\s*\(1 kB\)", page)
    assert nurse_client.get(f"/arenden/{case_id}/bilagor/{medical_file.id}").data == PDF
