"""Files attached to a case — test results, a report from BUP — stored with their checksum, checked, scanned.

Where: in the database (`case_attachments`), beside the signed decisions' PDFs, so one backup of the
database holds a case and its files together, a restore brings back both, and adding a file and its audit
event commit or fail together. The limits (`ELEVFLOW_ATTACHMENT_MAX_MB`, 20 MB; at most a few files a case)
keep the database a size any backup handles.

Adding a file (`add_attachment`):
1. the user must see the case (need-to-know, logged as "add_attachment") and work at its unit in a role
   that takes part in cases;
2. the file must not be empty nor larger than the limit, its name must end in one of the allowed kinds
   (`ELEVFLOW_ATTACHMENT_TYPES`), and its first bytes must be that kind's (a PDF starts "%PDF-", ...);
3. the virus-scan command (`ELEVFLOW_VIRUS_SCAN_COMMAND`), if set, is run on a private copy of the file
   and must exit 0 within `ELEVFLOW_VIRUS_SCAN_SECONDS`; anything else refuses the file (it fails closed);
4. the file, its SHA-256, size and kind are stored with an "attachment_added" audit event (holding the
   checksum, not the file), in one transaction.
Any refusal raises AttachmentRefused (coded) and stores nothing.

Who sees a file (the medical zone, engine/oversight/visibility.py): a file a school nurse or doctor added
(`medical`) is listed and served only to the medical roles at the unit and its author; every other file to
everyone who sees the case. Downloading is a look at the case, logged as "download_attachment"; the bytes
are checked against their SHA-256 before they are served. Removing (`remove_attachment`: its author or the
unit's rektor) deletes the bytes and keeps the row — who added and removed what, when — with an
"attachment_removed" audit event.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shlex
import subprocess
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from typing import TYPE_CHECKING

from ..errors import AttachmentRefused, NotFoundError, PermissionDeniedError
from ..org import access
from ..org.roles import MEDICAL_ROLES
from ..oversight import visibility
from ..storage import audit
from ..storage.dbapi import Sql, Tx

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

log = logging.getLogger(__name__)

#: file ending -> content type
CONTENT_TYPES = {
    "pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "txt": "text/plain",
}
ZIP_MEMBER = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "odt": "content.xml",
              "ods": "content.xml"}
MAX_NAME = 200

CASE_UNIT = Sql("SELECT unit_id, pupil_id FROM cases WHERE id = :id")
INSERT = Sql("""INSERT INTO case_attachments (case_id, filename, content_type, size, sha256, medical,
    added_by, added_at, content) VALUES (:case_id, :filename, :content_type, :size, :sha256, :medical,
    :by, :now, :content) RETURNING id""")
LISTED = Sql("""SELECT a.id, a.filename, a.content_type, a.size, a.sha256, a.medical, a.added_by, u.name,
    a.added_at FROM case_attachments a JOIN users u ON u.id = a.added_by
    WHERE a.case_id = :case_id AND a.removed_at IS NULL ORDER BY a.added_at, a.id""")
ONE = Sql("""SELECT filename, content_type, sha256, medical, added_by, content, removed_at, size
    FROM case_attachments WHERE id = :id AND case_id = :case_id""")
USER_NAME = Sql("SELECT name FROM users WHERE id = :id")
REMOVE = Sql("""UPDATE case_attachments SET content = NULL, removed_by = :by, removed_at = :now
    WHERE id = :id AND removed_at IS NULL""")


@dataclass(frozen=True)
class Attachment:
    """A file of a case as a list shows it (its bytes are fetched with `attachment_content`)."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    medical: bool
    added_by: int
    added_by_name: str
    added_at: datetime


def clean_name(filename: str) -> str:
    """The file name as stored and offered back: its last path part, NFC, without control characters or
    quotes, at most MAX_NAME characters (the ending kept)."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if c.isprintable() and c not in '"<>|*?:').strip().strip(".") or "fil"
    if len(name) > MAX_NAME:
        stem, dot, ending = name.rpartition(".")
        keep = dot and len(ending) < 10
        name = stem[:MAX_NAME - len(ending) - 1] + dot + ending if keep else name[:MAX_NAME]
    return name


def ending(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def _looks_like(kind: str, content: bytes) -> bool:
    """Whether the bytes are of the kind their name says (the first bytes; an office file's own part)."""
    if kind == "pdf":
        return content.startswith(b"%PDF-")
    if kind in ("jpg", "jpeg"):
        return content.startswith(b"\xff\xd8\xff")
    if kind == "png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if kind in ZIP_MEMBER:
        try:
            with zipfile.ZipFile(BytesIO(content)) as archive:
                return ZIP_MEMBER[kind] in archive.namelist()
        except (zipfile.BadZipFile, ValueError):
            return False
    if kind == "txt":
        try:
            return "\x00" not in content.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return False


def check_file(engine: Engine, filename: str, content: bytes) -> tuple[str, str]:
    """The (clean name, content type) of a file that may be attached; AttachmentRefused otherwise.
    Does not scan it."""
    name = clean_name(filename)
    config = engine.config
    if not content:
        raise AttachmentRefused("attachment.empty")
    if len(content) > config.attachment_max_mb * 1024 * 1024:
        raise AttachmentRefused("attachment.too_large", mb=config.attachment_max_mb)
    kind = ending(name)
    if kind not in config.attachment_types:
        raise AttachmentRefused("attachment.kind", ending=kind or "–", allowed=list(config.attachment_types))
    if not _looks_like(kind, content):
        raise AttachmentRefused("attachment.content", ending=kind)
    return name, CONTENT_TYPES[kind]


def scan(engine: Engine, content: bytes) -> None:
    """Run the configured virus-scan command on a private copy of the file; AttachmentRefused unless it
    exits 0 in time. Does nothing when no command is set."""
    command = engine.config.virus_scan_command.strip()
    if not command:
        return
    with tempfile.TemporaryDirectory(prefix="elevflow-scan-") as folder:
        path = os.path.join(folder, "upload")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(content)
        words = shlex.split(command)
        argv = [path if w == "{path}" else w for w in words] if "{path}" in words else [*words, path]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=engine.config.virus_scan_seconds,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("the virus scan %r did not run: %s", command, exc)
            raise AttachmentRefused("attachment.scan_failed") from None
    said = done.stdout.decode("utf-8", "replace").strip()[:300]
    if done.returncode == 1:
        log.warning("the virus scan refused an attachment: %s", said)
        raise AttachmentRefused("attachment.infected")
    if done.returncode != 0:
        log.error("the virus scan %r failed (exit %s): %s %s", command, done.returncode, said,
                  done.stderr.decode("utf-8", "replace").strip()[:300])
        raise AttachmentRefused("attachment.scan_failed")


def add_attachment(engine: Engine, case_id: int, filename: str, content: bytes, *, by: int) -> Attachment:
    """Attach a file to a case (see the module's docstring for the checks); returns it as listed."""
    visibility.log_access(engine, by, case_id, "add_attachment", clean_name(filename)[:100])
    with engine.db.snapshot() as tx:
        unit_id, _pupil = tx.first(CASE_UNIT, {"id": case_id})
        held = access.require_role_at_unit(tx, by, unit_id, "attach a file to a case",
                                           roles=access.CASE_ROLES)
    name, content_type = check_file(engine, filename, content)
    scan(engine, content)
    sha = hashlib.sha256(content).hexdigest()
    medical = bool(held & MEDICAL_ROLES)
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        unit_id, pupil_id = tx.first(CASE_UNIT, {"id": case_id})
        attachment_id = tx.scalar(INSERT, {
            "case_id": case_id, "filename": name, "content_type": content_type, "size": len(content),
            "sha256": sha, "medical": medical, "by": by, "now": tx.time(now), "content": content})
        audit.append(tx, [audit.Event("attachment_added", by, case_id, pupil_id, unit_id, {
            "attachment_id": attachment_id, "filename": name, "content_type": content_type,
            "size": len(content), "sha256": sha, "medical": medical})], now)
        by_name = tx.scalar(USER_NAME, {"id": by}) or ""
    return Attachment(attachment_id, name, content_type, len(content), sha, medical, by, by_name, now)


def _may_see(tx: Tx, user_id: int, unit_id: int, medical: bool, added_by: int) -> bool:
    return not medical or added_by == user_id or bool(access.roles_at_unit(tx, user_id, unit_id)
                                                      & MEDICAL_ROLES)


def attachments(engine: Engine, user_id: int, case_id: int) -> list[Attachment]:
    """The case's files the user may see (NotVisibleError for a case they may not see). Not logged: a list
    of names, shown on the case page whose look is logged."""
    if not visibility.can_view_case(engine, user_id, case_id):
        raise visibility.NotVisibleError(f"case {case_id} does not exist, or you may not see it")
    with engine.db.snapshot() as tx:
        unit_id, _pupil = tx.first(CASE_UNIT, {"id": case_id})
        return [Attachment(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7],
                           tx.required_time(row[8]))
                for row in tx.all(LISTED, {"case_id": case_id})
                if _may_see(tx, user_id, unit_id, bool(row[5]), row[6])]


def attachment_content(engine: Engine, user_id: int, case_id: int,
                       attachment_id: int) -> tuple[str, str, bytes]:
    """A file's (name, content type, bytes): through the case's need-to-know check and logged as
    "download_attachment"; NotVisibleError for a file of the medical part the user may not see, one of
    another case, or a removed one."""
    visibility.log_access(engine, user_id, case_id, "download_attachment", f"attachment {attachment_id}")
    with engine.db.snapshot() as tx:
        unit_id, _pupil = tx.first(CASE_UNIT, {"id": case_id})
        row = tx.first(ONE, {"id": attachment_id, "case_id": case_id})
        if row is None or row[6] is not None or not _may_see(tx, user_id, unit_id, bool(row[3]), row[4]):
            raise visibility.NotVisibleError(f"case {case_id} has no attachment {attachment_id} you may see")
        filename, content_type, sha, content = row[0], row[1], row[2], bytes(row[5])
    if hashlib.sha256(content).hexdigest() != sha:
        log.error("attachment %s of case %s does not match its SHA-256", attachment_id, case_id)
        raise NotFoundError(f"attachment {attachment_id} is damaged (its checksum does not match)")
    return filename, content_type, content


def remove_attachment(engine: Engine, user_id: int, case_id: int, attachment_id: int) -> None:
    """Remove a file: by whoever added it or the unit's rektor. Its bytes are deleted, its row kept."""
    visibility.log_access(engine, user_id, case_id, "remove_attachment", f"attachment {attachment_id}")
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        unit_id, pupil_id = tx.first(CASE_UNIT, {"id": case_id})
        row = tx.first(ONE, {"id": attachment_id, "case_id": case_id})
        if row is None or row[6] is not None or not _may_see(tx, user_id, unit_id, bool(row[3]), row[4]):
            raise visibility.NotVisibleError(f"case {case_id} has no attachment {attachment_id} you may see")
        if row[4] != user_id and "rektor" not in access.roles_at_unit(tx, user_id, unit_id):
            raise PermissionDeniedError("only whoever added a file, or the rektor, may remove it")
        tx.execute(REMOVE, {"id": attachment_id, "by": user_id, "now": tx.time(now)})
        audit.append(tx, [audit.Event("attachment_removed", user_id, case_id, pupil_id, unit_id, {
            "attachment_id": attachment_id, "filename": row[0], "sha256": row[2], "size": row[7]})], now)
