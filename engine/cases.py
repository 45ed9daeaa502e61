"""Cases: start a routine for a pupil, cancel one, find them again."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select

from . import access, audit, bounds, runner, state
from .dbapi import Sql, Tx
from .errors import ConflictError, NotFoundError
from .jsondata import ensure_json
from .models import Case
from .sandbox import script_engine
from .store import Database

_CASES = Case.__table__
PUPIL_UNIT = Sql("SELECT unit_id FROM pupils WHERE id = :id")
UNIT_EXISTS = Sql("SELECT 1 FROM school_units WHERE id = :id")
LATEST_VERSION = Sql("SELECT id, version FROM process_versions WHERE key = :key "
                     "ORDER BY version DESC LIMIT 1")
INSERT_CASE = Sql("""INSERT INTO cases (process_version_id, process_key, pupil_id, unit_id, parent_case_id,
    status, started_by, started_at, row_version, serializer_version, state) VALUES (:version_id, :key,
    :pupil_id, :unit_id, :parent_id, 'running', :by, :now, 0, :serializer, :state) RETURNING id""")


def start_case(db: Database, process_key: str, *, pupil_id: int, by: int | None,
               unit_id: int | None = None, data: dict[str, Any] | None = None) -> Case:
    """Start the newest version of a routine for a pupil at their school unit (or the unit given).

    `by` is the user starting it, who must hold a role at that unit; None means the system itself
    (the scheduler, an import). Everything the first step does is saved in one transaction.
    """
    data = dict(data or {})
    ensure_json(data, "start data")
    now = datetime.now(timezone.utc)
    with db.transaction() as tx:
        run = start(db, tx, process_key, pupil_id, unit_id, by, data, now, parent=None)
    runner.keep_live(db, run)
    ref = run.case
    return Case(id=ref.id, process_version_id=ref.process_version_id, process_key=ref.process_key,
                pupil_id=ref.pupil_id, unit_id=ref.unit_id, parent_case_id=None, status=ref.status,
                started_by=by, started_at=now, ended_at=now if ref.status != "running" else None,
                row_version=ref.row_version, serializer_version=state.SERIALIZER_VERSION)


def start(db: Database, tx: Tx, process_key: str, pupil_id: int, unit_id: int | None,
          by: int | None, data: dict[str, Any], now: datetime, parent: runner.CaseRef | None) -> runner.Run:
    """Start a case inside the caller's transaction; return its first step."""
    pupil_unit = tx.scalar(PUPIL_UNIT, {"id": pupil_id})
    if pupil_unit is None:
        raise NotFoundError(f"pupil {pupil_id} does not exist")
    unit_id = unit_id or pupil_unit
    if tx.first(UNIT_EXISTS, {"id": unit_id}) is None:
        raise NotFoundError(f"school unit {unit_id} does not exist")
    if by is not None:
        access.require_role_at_unit(tx, by, unit_id, "start a case")
    version = tx.first(LATEST_VERSION, {"key": process_key})
    if version is None:
        raise NotFoundError(f"no routine {process_key!r} is deployed")
    version_id, version_number = version
    parsed = db.specs.get(version_id)
    try:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script_engine())
    except RecursionError as exc:  # refused at deploy since; a version deployed before may still have it
        raise bounds.too_deep(process_key) from exc
    parent_id = parent.id if parent else None
    case_id = tx.scalar(INSERT_CASE, {
        "version_id": version_id, "key": process_key, "pupil_id": pupil_id, "unit_id": unit_id,
        "parent_id": parent_id, "by": by, "now": tx.time(now), "serializer": state.SERIALIZER_VERSION,
        "state": b"{}"})
    workflow.data.update({"arende_id": case_id, "elev_id": pupil_id, "skolenhet_id": unit_id, **data})
    workflow.task_tree.data.update(workflow.data)
    case = runner.CaseRef(case_id, version_id, process_key, pupil_id, unit_id, "running", 0)
    run = runner.Run(tx, case, parsed, workflow, by, now, db.breaks.is_off(unit_id))
    run.event("case_started", key=process_key, version=version_number, parent_case_id=parent_id)
    run.begin()
    run.advance()
    run.finish()
    start_linked(db, run)
    return run


def start_linked(db: Database, run: runner.Run) -> None:
    """Start the cases a step asked for with an `elevflow.start.<routine>` message, linked to it."""
    for key, pupil_id in run.spawned:
        child = start(db, run.tx, key, pupil_id, run.case.unit_id, None, {}, run.now, parent=run.case)
        audit.append(run.tx, [audit.Event("case_linked", run.actor_id, run.case.id, pupil_id,
                                            run.case.unit_id, {"child_case_id": child.case.id, "key": key})],
                     run.now)


def cancel_case(db: Database, case_id: int, *, by: int | None, reason: str) -> Case:
    """End a running case early, cancelling its open tasks and timers; the reason goes in the log."""
    if not reason.strip():
        raise ValueError("a reason is required to cancel a case")
    now = datetime.now(timezone.utc)
    with db.transaction() as tx:
        case = runner.lock_case(tx, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        if by is not None:
            access.require_role_at_unit(tx, by, case.unit_id, "cancel a case", roles={"rektor"})
        if case.status != "running":
            raise ConflictError(f"case {case_id} is already {case.status}")
        run = runner.load(tx, db, case, by, now)
        run.begin()
        run.workflow.cancel()
        run.event("case_cancelled", reason=reason)
        run.finish(status="cancelled")
    return get_case(db, case_id)


def get_case(db: Database, case_id: int) -> Case:
    with db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        return case


def list_cases(db: Database, *, status: str | None = None, unit_id: int | None = None,
               pupil_id: int | None = None, limit: int = 200) -> list[Case]:
    query = select(Case).order_by(Case.id.desc()).limit(limit)
    if status:
        query = query.where(Case.status == status)
    if unit_id:
        query = query.where(Case.unit_id == unit_id)
    if pupil_id:
        query = query.where(Case.pupil_id == pupil_id)
    with db.read() as session:
        return list(session.scalars(query))


def case_data(db: Database, case_id: int) -> dict[str, Any]:
    """The case's current data (the data of its newest finished step)."""
    with db.read() as session:
        row = session.execute(select(_CASES).where(_CASES.c.id == case_id)).first()
        if row is None:
            raise NotFoundError(f"case {case_id} does not exist")
        parsed = db.specs.get(row.process_version_id)
        workflow = state.load(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs,
                              script_engine())
    return dict((workflow.last_task or workflow.task_tree).data)
