"""Process definitions: deploy a routine as an immutable version, and find versions again.

Deploying identical content again makes no new version. A version stores every file it needs (its own
BPMN, the shared processes its call activities reach, the forms its user tasks name), so it runs the same
for ever, whatever later happens to processes/.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import ConflictError, DefinitionError, Problem
from ..storage import audit, dbapi
from ..storage.models import ProcessVersion, VersionReader
from . import bpmnxml, decision_fields
from .specs import ParsedVersion, user_tasks_of
from .validation import Bundle, validate

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine


def content_hash(files: dict[str, str], forms: dict[str, Any]) -> str:
    canonical = json.dumps({"files": files, "forms": forms}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_folder(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The BPMN files and forms of a routine folder (or of the folder a single .bpmn file sits in)."""
    folder = path if path.is_dir() else path.parent
    bpmn = [path] if path.is_file() else sorted(folder.glob("*.bpmn"))
    if not bpmn:
        raise DefinitionError([Problem("file.no_bpmn_in_folder", {"path": str(path)})])
    files, forms, problems = {}, {}, []
    for p in bpmn:
        text, found = bpmnxml.decode(p.read_bytes(), p.name)
        problems.extend(found)
        if text is not None:
            files[p.name] = text
    for p in sorted((folder / "forms").glob("*.json")):
        try:
            forms[p.name] = p.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(Problem("form.not_utf8", {"byte": exc.start}, file=p.name))
    if problems:
        raise DefinitionError(problems)
    return files, forms


def library(shared: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The shared processes (and their forms) that call activities may reach."""
    if not shared.is_dir() or not any(shared.glob("*.bpmn")):
        return {}, {}
    return read_folder(shared)


def deploy_path(engine: Engine, path: str | Path, *, by: int | None = None, note: str = "",
                shared_dir: str | Path | None = None) -> list[ProcessVersion]:
    """Deploy the routine in a folder (or one .bpmn file with the forms/ beside it)."""
    path = Path(path)
    if not path.exists():
        raise DefinitionError([Problem("file.missing", {"path": str(path)})])
    files, forms = read_folder(path)
    shared = Path(shared_dir or Path(engine.config.processes_dir) / "shared")
    shared_files, shared_forms = library(shared) if shared.resolve() != path.resolve() else ({}, {})
    return deploy(engine, files, {**shared_forms, **forms}, library_files=shared_files, by=by, note=note)


def deploy(engine: Engine, files: dict[str, str], forms: dict[str, Any], *, library_files: dict[str, str]
           | None = None, by: int | None = None, note: str = "") -> list[ProcessVersion]:
    """Validate and store each executable process in `files` as a new version, unless unchanged.

    Returns one version per executable process: the new one, or the existing identical one.
    """
    bundle = checked(engine, files, forms, library_files)
    now = datetime.now(timezone.utc)
    deployed, parsed = [], []
    with engine.db.write() as session:
        for key, (spec, subprocess_specs) in bundle.specs.items():
            digest = content_hash(bundle.files, bundle.forms)
            existing = session.scalars(select(ProcessVersion).where(
                ProcessVersion.key == key, ProcessVersion.content_hash == digest)).first()
            if existing is not None:
                deployed.append(existing)
                continue
            number = (session.scalar(select(func.max(ProcessVersion.version))
                                     .where(ProcessVersion.key == key)) or 0) + 1
            row = ProcessVersion(key=key, version=number, name=bundle.names[key], content_hash=digest,
                                 files=bundle.files, forms=bundle.forms, deployed_by=by, deployed_at=now,
                                 note=note)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise ConflictError("conflict.deployed_same_moment", key=key) from None
            session.add_all(VersionReader(version_id=row.id, role=role)
                            for role in sorted(bundle.readers[key]))
            event = audit.Event("definition_deployed", by, data={
                "key": key, "version": number, "content_hash": digest, "note": note})
            audit.append(dbapi.within(session, engine.db.dialect, engine.db.stats), [event], now)
            parsed.append(ParsedVersion(row.id, key, spec, subprocess_specs, bundle.forms,
                                        bundle.subjects.get(key, "pupil"), bundle.properties.get(key, {})))
            deployed.append(row)
    for version in parsed:  # only once committed: a rolled-back id may be handed out again
        engine.specs.put(version)
    return deployed


def checked(engine: Engine, files: dict[str, str], forms: dict[str, Any],
            library_files: dict[str, str] | None = None) -> Bundle:
    """Deploy's checks of a bundle (validation.py), and against each routine's newest version: a
    decision's document keeps every field it printed (decision_fields.py). DefinitionError lists every
    problem."""
    bundle = validate(files, library_files or {}, forms, engine.bounds)
    problems = _lost_document_fields(engine, bundle)
    if problems:
        raise DefinitionError(problems)
    return bundle


def _lost_document_fields(engine: Engine, bundle: Bundle) -> list[Problem]:
    """Each decision task whose document prints fields the routine's newest version collected and this
    bundle no longer does, naming the task, its file and line, the kind and the fields."""
    with engine.db.read() as session:
        newest = dict(session.execute(
            select(ProcessVersion.key, func.max(ProcessVersion.id)).where(
                ProcessVersion.key.in_(list(bundle.specs))).group_by(ProcessVersion.key)).all())
    problems = []
    for key, (spec, subprocesses) in bundle.specs.items():
        if key not in newest:
            continue
        old = engine.specs.get(newest[key])
        before = decision_fields.collected(old.user_tasks(), old.forms)
        found = user_tasks_of([spec, *subprocesses.values()])
        tasks = {step: meta for step, (meta, _) in found.items()}
        for step, why in decision_fields.check(tasks, bundle.forms, before):
            file_name = bundle.file_of.get(found[step][1])
            tree = bpmnxml.parse(bundle.files[file_name], file_name)[0] if file_name in bundle.files else None
            line = bpmnxml.line_index(tree).get(step) if tree is not None else None
            problems.append(Problem(why.code, why.params, element_id=step, line=line, file=file_name))
    return problems


ROUTINE_NAMES = dbapi.Sql("SELECT key, name FROM process_versions ORDER BY key, version")


def routine_names(engine: Engine, tx: dbapi.Tx | None = None) -> dict[str, str]:
    """Every deployed routine's key with its newest version's name, by name (a light read: no files)."""
    if tx is None:
        with engine.db.snapshot() as own:
            return routine_names(engine, own)
    names = dict(tx.all(ROUTINE_NAMES))  # by version: the newest name wins
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


NEWEST_VERSIONS = dbapi.Sql("""SELECT v.key, v.id FROM process_versions v WHERE v.version =
    (SELECT MAX(n.version) FROM process_versions n WHERE n.key = v.key)""")


def unit_routines(engine: Engine) -> frozenset[str]:
    """The deployed routines whose newest version runs as a case of a school unit, without a pupil (its
    diagram says `caseSubject` unit: specs.py): those are started for a unit, the others for a pupil."""
    with engine.db.snapshot() as tx:
        newest = tx.all(NEWEST_VERSIONS)
    return frozenset(key for key, version_id in newest if engine.specs.get(version_id).unit_level)


def versions(engine: Engine, key: str | None = None) -> list[ProcessVersion]:
    """Every deployed version, newest first per routine."""
    with engine.db.read() as session:
        query = select(ProcessVersion).order_by(ProcessVersion.key, ProcessVersion.version.desc())
        if key:
            query = query.where(ProcessVersion.key == key)
        return list(session.scalars(query))


def task_forms(engine: Engine, version_id: int) -> dict[str, dict[str, Any]]:
    """The form (its JSON Schema) of each user task of a version that has one, by the task's BPMN id."""
    parsed = engine.specs.get(version_id)
    return {bpmn_id: parsed.forms[meta.form] for bpmn_id, meta in parsed.user_tasks().items()
            if meta.form and meta.form in parsed.forms}


def forms(engine: Engine, version_id: int) -> dict[str, dict[str, Any]]:
    """Every form (JSON Schema) a version holds, by its name."""
    return dict(engine.specs.get(version_id).forms)


def form_validator(engine: Engine, version_id: int, form: str) -> Draft202012Validator:
    """The validator of one of a version's forms, as `complete_task` checks with it
    (engine/routines/formcheck.py:
    blank required texts and date-time included)."""
    return engine.specs.get(version_id).validator(form)


def person_fields(engine: Engine, version_id: int) -> frozenset[str]:
    """The version's form fields that name a person (by user id): the fields a later step's
    `assigneeFrom` reads, shown as names, never as ids."""
    return frozenset(engine.specs.get(version_id).assignee_fields())
