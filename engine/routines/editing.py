"""Process owners edit routines: open a deployed version (or an imported .bpmn file) as a draft, save
changes to it, check it with the same rules as deploy, and publish it as a new version with a note.

A draft keeps every file the version had: the routine's own BPMN (`main_file`), the shared processes its
call activities reach, and its forms. Only the routine's own BPMN and its forms are edited here. Nothing a
draft holds touches a running case until it is published, and publishing goes through `definitions.deploy`,
so a published version is exactly as immutable and as checked as one deployed from the command line.
Every function takes the acting user and refuses anyone who holds no process-owner role (`processagare`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ConflictError, DefinitionError, NotFoundError, PermissionDeniedError, Problem
from ..expressions.bounds import DEFAULT, Bounds
from ..org.access import NO_LANE
from ..org.roles import ROLES, Role
from ..storage.models import ProcessVersion, RoleAssignment, RoutineDraft
from . import bpmnxml, definitions
from .specs import CANCEL_GROUNDS
from .validation import check_form, validate

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

OWNER_ROLE = "processagare"
MAX_BPMN_BYTES = 2_000_000
# RoutineDraft (what a draft is) and check_form (a form's schema checked as a deploy checks it) are part of
# this module's surface too: the web's editor uses them from here.


def lane_roles() -> list[Role]:
    """The roles a lane may name: every role but the process owner's, which serves no lane."""
    return [role for role in ROLES.values() if role.key not in NO_LANE]


def cancel_grounds() -> dict[str, str]:
    """The grounds a task's `cancelGrounds` may list (key: what it says), for the editor to offer."""
    return dict(CANCEL_GROUNDS)


def is_process_owner(engine: Engine, user_id: int | None) -> bool:
    if user_id is None:
        return False
    with engine.db.read() as session:
        return _holds_owner_role(session, user_id)


def _holds_owner_role(session: Session, user_id: int) -> bool:
    return session.scalar(select(RoleAssignment.id).where(
        RoleAssignment.user_id == user_id, RoleAssignment.role == OWNER_ROLE).limit(1)) is not None


def _require_owner(session: Session, user_id: int, action: str) -> None:
    if not _holds_owner_role(session, user_id):
        raise PermissionDeniedError(f"user {user_id} may not {action}: that takes the process-owner role")


@dataclass(frozen=True)
class Verdict:
    """Whether a diagram can run in Elevflow, and if not, every element that stands in the way."""

    runnable: bool
    problems: list[Problem]
    keys: list[str]


def verdict(files: dict[str, str], forms: dict[str, Any], library: dict[str, str] | None = None,
            limits: Bounds = DEFAULT) -> Verdict:
    """Check BPMN files (and forms) with deploy's rules, under the engine's bounds `limits`, without
    storing anything."""
    try:
        bundle = validate(files, library or {}, forms, limits)
    except DefinitionError as exc:
        return Verdict(False, exc.problems, [])
    return Verdict(True, [], list(bundle.specs))


def main_file_of(files: dict[str, str], key: str) -> str:
    """The file that holds process `key`."""
    for name, text in sorted(files.items()):
        tree, _ = bpmnxml.parse(text, name)
        if tree is not None and key in bpmnxml.process_ids(tree):
            return name
    raise NotFoundError(f"no file holds process {key!r}")


def get_version(engine: Engine, version_id: int) -> ProcessVersion:
    with engine.db.read() as session:
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFoundError(f"process version {version_id} does not exist")
        return row


def newest_version(engine: Engine, key: str) -> ProcessVersion:
    with engine.db.read() as session:
        row = session.scalars(select(ProcessVersion).where(ProcessVersion.key == key)
                              .order_by(ProcessVersion.version.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError(f"no routine {key!r} is deployed")
        return row


def export_version(engine: Engine, version_id: int) -> tuple[str, str]:
    """A version's own BPMN file: (file name, XML), as deployed."""
    version = get_version(engine, version_id)
    name = main_file_of(version.files, version.key)
    return name, version.files[name]


def open_draft(engine: Engine, version_id: int, *, by: int) -> RoutineDraft:
    """Start editing a deployed version: a new draft holding a copy of all its files."""
    now = datetime.now(timezone.utc)
    with engine.db.write() as session:
        _require_owner(session, by, "edit routines")
        version = session.get(ProcessVersion, version_id)
        if version is None:
            raise NotFoundError(f"process version {version_id} does not exist")
        draft = RoutineDraft(key=version.key, base_version_id=version.id,
                             main_file=main_file_of(version.files, version.key), files=dict(version.files),
                             forms=dict(version.forms), created_by=by, created_at=now, updated_by=by,
                             updated_at=now, row_version=0)
        session.add(draft)
        session.flush()
        return draft


def import_file(engine: Engine, file_name: str, text: str | bytes, *, by: int) -> RoutineDraft:
    """A draft from an uploaded .bpmn file. If its process is a deployed routine, the draft edits that
    routine (keeping its forms and shared processes); otherwise it starts a new one with the shared
    processes of processes/shared. The file must be safe, well-formed BPMN XML; whether it can run is
    what `check` tells."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionError([Problem("file.too_large", {"mb": MAX_BPMN_BYTES // 1_000_000},
                                       file=file_name)])
    file_name = Path(file_name or "").name
    if not file_name.endswith(".bpmn"):
        raise DefinitionError([Problem("file.not_bpmn", file=file_name or None)])
    xml, problems = bpmnxml.decode(data, file_name)  # in the encoding it declares; stored as UTF-8
    if xml is None:
        raise DefinitionError(problems)
    tree, problems = bpmnxml.parse(xml, file_name)
    if tree is None:
        raise DefinitionError(problems)
    keys = bpmnxml.executable_process_ids(tree) or bpmnxml.process_ids(tree)
    if not keys:
        raise DefinitionError([Problem("file.no_process", file=file_name)])
    key = keys[0]
    now = datetime.now(timezone.utc)
    with engine.db.write() as session:
        _require_owner(session, by, "import routines")
        base = session.scalars(select(ProcessVersion).where(ProcessVersion.key == key)
                               .order_by(ProcessVersion.version.desc()).limit(1)).first()
        if base is not None:
            old_main = main_file_of(base.files, key)
            files = {n: t for n, t in base.files.items() if n != old_main}
            forms = dict(base.forms)
        else:
            shared = Path(engine.config.processes_dir) / "shared"
            files, raw_forms = definitions.library(shared)
            forms = {name: json.loads(schema) for name, schema in raw_forms.items()}
        files.pop(file_name, None)
        files[file_name] = xml
        draft = RoutineDraft(key=key, base_version_id=base.id if base else None, main_file=file_name,
                             files=files, forms=forms, created_by=by, created_at=now, updated_by=by,
                             updated_at=now, row_version=0)
        session.add(draft)
        session.flush()
        return draft


def get(engine: Engine, draft_id: int, *, by: int) -> RoutineDraft:
    with engine.db.read() as session:
        _require_owner(session, by, "see drafts")
        draft = session.get(RoutineDraft, draft_id)
        if draft is None:
            raise NotFoundError(f"draft {draft_id} does not exist")
        return draft


def drafts(engine: Engine, *, by: int) -> list[RoutineDraft]:
    """Every open draft, newest change first (process owners share their drafts)."""
    with engine.db.read() as session:
        _require_owner(session, by, "see drafts")
        return list(session.scalars(select(RoutineDraft).order_by(RoutineDraft.updated_at.desc())))


def save(engine: Engine, draft_id: int, *, by: int, seen: int, bpmn: str | None = None,
         forms: dict[str, Any] | None = None, file_name: str | None = None) -> RoutineDraft:
    """Save a draft's BPMN and/or some of its forms (name -> JSON Schema, or None to remove one).

    `bpmn` replaces the routine's own file, or `file_name`: one of the shared processes the draft holds
    (the new version then carries its own copy of it; other routines keep theirs).

    `seen` is the draft's row_version when the editor loaded it: if someone saved in between, nothing is
    saved (ConflictError). The BPMN must be safe, well-formed BPMN XML and every form a valid JSON Schema
    object; otherwise DefinitionError lists why and nothing changes. Whether the draft can run is `check`.
    """
    problems: list[Problem] = []
    if bpmn is not None:
        if len(bpmn.encode("utf-8")) > MAX_BPMN_BYTES:
            problems.append(Problem("draft.too_large", {"mb": MAX_BPMN_BYTES // 1_000_000}))
        else:
            problems += bpmnxml.parse(bpmn, "diagram")[1]
    for name, schema in (forms or {}).items():
        if not name.endswith(".json") or "/" in name or "\\" in name or name.startswith("."):
            problems.append(Problem("draft.form_name", file=name))
        elif schema is not None:
            problems += [Problem(*why, file=name) for why in check_form(name, schema)]
    if problems:
        raise DefinitionError(problems)
    with engine.db.write() as session:
        _require_owner(session, by, "edit routines")
        draft = _locked(session, draft_id, seen)
        target = file_name or draft.main_file
        if target not in draft.files:
            raise DefinitionError([Problem("draft.no_such_file", file=target)])
        if bpmn is not None:
            draft.files = {**draft.files, target: bpmnxml.as_utf8(bpmn)}  # stored, and exported, as UTF-8
        if forms:
            merged = dict(draft.forms)
            for name, schema in forms.items():
                if schema is None:
                    merged.pop(name, None)
                else:
                    merged[name] = schema
            draft.forms = merged
        draft.updated_by = by
        draft.updated_at = datetime.now(timezone.utc)
        draft.row_version += 1
        return draft


def _locked(session: Session, draft_id: int, seen: int | None) -> RoutineDraft:
    draft = session.get(RoutineDraft, draft_id, with_for_update=True)
    if draft is None:
        raise NotFoundError(f"draft {draft_id} does not exist")
    if seen is not None and draft.row_version != seen:
        raise ConflictError("conflict.draft_saved_at", draft=draft_id,
                            at=f"{draft.updated_at:%Y-%m-%d %H:%M}")
    return draft


def _split(draft: RoutineDraft) -> tuple[dict[str, str], dict[str, str]]:
    main = {draft.main_file: draft.files[draft.main_file]}
    library = {n: t for n, t in draft.files.items() if n != draft.main_file}
    return main, library


def check(engine: Engine, draft_id: int, *, by: int) -> Verdict:
    """Check a draft with exactly the rules deploy uses; store nothing."""
    draft = get(engine, draft_id, by=by)
    main, library = _split(draft)
    try:  # deploy's own checks, the newest version's decision documents included
        keys = list(definitions.checked(engine, main, draft.forms, library).specs)
    except DefinitionError as exc:
        return Verdict(False, exc.problems, [])
    if draft.key not in keys:
        return Verdict(False, [_renamed(draft)], keys)
    return Verdict(True, [], keys)


def _renamed(draft: RoutineDraft) -> Problem:
    return Problem("draft.process_renamed", {"key": draft.key}, file=draft.main_file)


def publish(engine: Engine, draft_id: int, *, by: int, note: str, seen: int | None = None) -> ProcessVersion:
    """Deploy a draft as its routine's next version, with a change note; the draft is then deleted.

    A draft may start from any version (to go back to an older one). Refused (ConflictError) when
    another version of the routine was published after the draft was opened, or when the draft is
    identical to a version already deployed; refused (DefinitionError, pointing at
    elements) when any deploy check fails. Running cases stay on their version; new cases take this one.

    Two process owners publishing at once:
    1. Each reads its draft and the routine's newest version; a draft opened before the newest version
       was published is refused here.
    2. Each deploys (`definitions.deploy`, one transaction): the unique (key, version) and
       (key, content_hash) constraints let exactly one of two concurrent deploys store a version; the
       other gets ConflictError and stores nothing, and its draft stays.
    3. Only then is the draft deleted (under its row lock), so a failed publish never loses the work.
    """
    if not note.strip():
        raise ValueError("a change note is required to publish: say what changed and why")
    draft = get(engine, draft_id, by=by)
    if seen is not None and draft.row_version != seen:
        raise ConflictError("conflict.draft_saved", draft=draft_id)
    with engine.db.read() as session:
        newest = session.scalars(select(ProcessVersion).where(ProcessVersion.key == draft.key)
                                 .order_by(ProcessVersion.version.desc()).limit(1)).first()
    if newest is not None and newest.deployed_at > draft.created_at:
        raise ConflictError("conflict.version_published", version=newest.version, key=draft.key,
                            at=f"{newest.deployed_at:%Y-%m-%d %H:%M}")
    main, library = _split(draft)
    versions = definitions.deploy(engine, main, draft.forms, library_files=library, by=by, note=note.strip())
    mine = [v for v in versions if v.key == draft.key]
    if not mine:
        raise DefinitionError([_renamed(draft)])
    version = mine[0]
    if newest is not None and version.version <= newest.version:  # deploy found identical content
        raise ConflictError("conflict.nothing_to_publish", version=version.version)
    with engine.db.write() as session:
        _locked(session, draft_id, None)
        session.delete(session.get(RoutineDraft, draft_id))
    return version


def discard(engine: Engine, draft_id: int, *, by: int, seen: int | None = None) -> None:
    """Delete a draft; with `seen`, only the version of it the user saw (ConflictError if someone saved it
    since: their work is not thrown away unseen)."""
    with engine.db.write() as session:
        _require_owner(session, by, "discard drafts")
        session.delete(_locked(session, draft_id, seen))
