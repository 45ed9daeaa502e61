"""Cases: start a routine for a pupil, cancel one, find them again."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access, definitions, runner, sandbox, state
from .errors import ConflictError, NotFoundError
from .jsondata import ensure_json
from .models import Case, Pupil, SchoolUnit
from .store import Database


def start_case(db: Database, process_key: str, *, pupil_id: int, by: int | None,
               unit_id: int | None = None, data: dict[str, Any] | None = None) -> Case:
    """Start the newest version of a routine for a pupil at their school unit (or the unit given).

    `by` is the user starting it, who must hold a role at that unit; None means the system itself
    (the scheduler, an import). Everything the first step does is saved in one transaction.
    """
    data = dict(data or {})
    ensure_json(data, "start data")
    now = datetime.now(timezone.utc)
    with db.write() as session:
        case = _start(db, session, process_key, pupil_id, unit_id, by, data, now, parent=None)
    return case


def _start(db: Database, session: Session, process_key: str, pupil_id: int, unit_id: int | None,
           by: int | None, data: dict[str, Any], now: datetime, parent: Case | None) -> Case:
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise NotFoundError(f"pupil {pupil_id} does not exist")
    unit_id = unit_id or pupil.unit_id
    if session.get(SchoolUnit, unit_id) is None:
        raise NotFoundError(f"school unit {unit_id} does not exist")
    if by is not None:
        access.require_role_at_unit(session, by, unit_id, "start a case")
    version = definitions.latest(session, process_key)
    parsed = db.specs.get(session, version.id)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=sandbox.script_engine())
    case = Case(process_version_id=version.id, process_key=process_key, pupil_id=pupil_id, unit_id=unit_id,
                parent_case_id=parent.id if parent else None, status="running", started_by=by,
                started_at=now, row_version=0, serializer_version=state.SERIALIZER_VERSION, state=b"{}")
    session.add(case)
    session.flush()
    workflow.data.update({"arende_id": case.id, "elev_id": pupil_id, "skolenhet_id": unit_id, **data})
    workflow.task_tree.data.update(workflow.data)
    run = runner.Run(session, case, parsed, workflow, by, now)
    run.event("case_started", key=process_key, version=version.version,
              parent_case_id=parent.id if parent else None)
    run.begin()
    run.advance()
    run.finish()
    session.expunge(case)
    start_linked(db, session, run, now)
    return case


def start_linked(db: Database, session: Session, run: runner.Run, now: datetime) -> None:
    """Start the cases a step asked for with an `elevflow.start.<routine>` message, linked to it."""
    for key, pupil_id in run.spawned:
        child = _start(db, session, key, pupil_id, run.case.unit_id, None, {}, now, parent=run.case)
        audit.append(session, [audit.Event("case_linked", run.actor_id, run.case.id, pupil_id,
                                           run.case.unit_id, {"child_case_id": child.id, "key": key})], now)


def cancel_case(db: Database, case_id: int, *, by: int | None, reason: str) -> Case:
    """End a running case early, cancelling its open tasks and timers; the reason goes in the log."""
    if not reason.strip():
        raise ValueError("a reason is required to cancel a case")
    now = datetime.now(timezone.utc)
    with db.write() as session:
        case = runner.lock_case(session, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        if by is not None:
            access.require_role_at_unit(session, by, case.unit_id, "cancel a case", roles={"rektor"})
        if case.status != "running":
            raise ConflictError(f"case {case_id} is already {case.status}")
        run = runner.load(session, db.specs, case, by, now, sandbox.script_engine())
        run.begin()
        run.workflow.cancel()
        run.event("case_cancelled", reason=reason)
        run.finish(status="cancelled")
        session.expunge(case)
    return case


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
        return list(session.scalars(query.options()))


def case_data(db: Database, case_id: int) -> dict[str, Any]:
    """The case's current data (the data of its newest finished step)."""
    with db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        run = runner.load(session, db.specs, case, None, datetime.now(timezone.utc), sandbox.script_engine())
    workflow = run.workflow
    return dict((workflow.last_task or workflow.task_tree).data)
