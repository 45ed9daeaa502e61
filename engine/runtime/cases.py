"""Cases: start a routine for a pupil (or, for a unit-level routine, for a school unit), cancel one, find
them again."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import codes
from ..errors import ConflictError, NotFoundError, PermissionDeniedError
from ..org import access
from ..routines.specs import CANCEL_GROUNDS
from ..storage import state
from ..storage.dbapi import Sql, Tx
from ..storage.jsondata import ensure_json
from ..storage.models import Case
from ..work import notify
from . import runner

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

_CASES = Case.__table__


def start_case(engine: Engine, process_key: str, *, pupil_id: int | None = None, by: int | None,
               unit_id: int | None = None, data: dict[str, Any] | None = None) -> Case:
    """Start the newest version of a routine for a pupil at their school unit (or the unit given).

    A routine whose diagram says `caseSubject` "unit" (the årshjul, an avvikelse) is started for a school
    unit instead: `unit_id` and no `pupil_id`; its case has no pupil at all. The wrong one of the two is
    refused (CaseSubjectError): no pupil is ever written into such a case, nor a pupil's case made without
    one.
    `by` is the user starting it, who must hold a role at that unit; None means the system itself
    (the scheduler, an import). Everything the first step does is saved in one transaction.

    The engine puts these keys in the case's data, over any of the same name in `data`: `arende_id`,
    `elev_id` (never in a unit-level case), `skolenhet_id`; `startad_av` (the starter's user id, or
    None), `startad_av_roller` (the starter's roles at the unit, sorted; [] for the system) and
    `startad_fran` (the routine of the case that started this one, or None). A task can go to the
    starter (`assigneeFrom` `startad_av`), and a gateway can ask who started the case, so "the person
    who starts it does the first step" is routine data, not code.
    """
    data = dict(data or {})
    ensure_json(data, "start data")
    now = engine.clock()
    with runner.step(engine, "start", by, now) as step:
        ref = step.open(process_key, pupil_id, unit_id, data).case
    return Case(id=ref.id, process_version_id=ref.process_version_id, process_key=ref.process_key,
                pupil_id=ref.pupil_id, unit_id=ref.unit_id, parent_case_id=None, status=ref.status,
                started_by=by, started_at=now, ended_at=now if ref.status != "running" else None,
                row_version=ref.row_version, serializer_version=state.SERIALIZER_VERSION)


REACHED = Sql("SELECT DISTINCT bpmn_id FROM tasks WHERE case_id = :case_id")
SET_GROUND = Sql("UPDATE cases SET cancel_ground = :ground WHERE id = :id")


def cancel_grounds(engine: Engine, tx: Tx, case: runner.CaseRef) -> tuple[str, ...] | None:
    """The grounds the case may still be cancelled on, or None if it may be cancelled for any reason:
    once a case has reached a user task with a `cancelGrounds` property (särskilt stöd: the rektor has the
    report, and may not refuse to have it investigated, 3 kap. 7 § skollagen), only on those."""
    metas = engine.specs.get(case.process_version_id).user_tasks()
    found = [g for (bpmn_id,) in tx.all(REACHED, {"case_id": case.id})
             for g in (metas[bpmn_id].cancel_grounds if bpmn_id in metas else ())]
    return tuple(dict.fromkeys(found)) if found else None


def cancel_case(engine: Engine, case_id: int, *, by: int | None, reason: str,
                ground: str | None = None) -> Case:
    """End a running case early, cancelling its open tasks and timers; the reason goes in the log.

    Where the routine restricts it (`cancel_grounds`), the case is cancelled only on one of the listed
    `ground`s (specs.CANCEL_GROUNDS: the pupil moved, a duplicate); the ground is kept on the case,
    counted in the quality figures and told to the unit's huvudman. Refused otherwise, changing nothing.
    """
    if not reason.strip():
        raise ValueError("a reason is required to cancel a case")
    if ground is not None and ground not in CANCEL_GROUNDS:
        raise ValueError(f"unknown ground {ground!r}; known: {', '.join(CANCEL_GROUNDS)}")
    with runner.step(engine, "cancel", by) as step:
        case = step.lock(case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        if by is not None:
            access.require_role_at_unit(step.tx, by, case.unit_id, "cancel a case", roles={"rektor"})
        if case.status != "running":
            raise ConflictError("conflict.case_status", case=str(case_id), status=codes.state(case.status))
        allowed = cancel_grounds(engine, step.tx, case)
        if allowed is not None and ground not in allowed:
            said = " or ".join(f"{g} ({CANCEL_GROUNDS[g].lower()})" for g in allowed)
            raise PermissionDeniedError(
                f"case {case_id} has been reported to the rektor, who may not refuse to have it investigated "
                f"(3 kap. 7 § skollagen); it may be cancelled only on the ground {said}")
        run = step.load(case)
        run.workflow.cancel()
        run.event("case_cancelled", reason=reason, **({"ground": ground} if ground else {}))
        step.ending = "cancelled"
        if allowed is not None:
            step.tx.execute(SET_GROUND, {"ground": ground, "id": case_id})
            notify.notify_role(step.tx, case.unit_id, {"huvudman"}, "case_cancelled", case_id=case_id,
                               task_id=None, now=step.now, config=engine.config)
    return get_case(engine, case_id)


def get_case(engine: Engine, case_id: int) -> Case:
    with engine.db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        return case


def list_cases(engine: Engine, *, status: str | None = None, unit_id: int | None = None,
               pupil_id: int | None = None, limit: int = 200) -> list[Case]:
    query = select(Case).order_by(Case.id.desc()).limit(limit)
    if status:
        query = query.where(Case.status == status)
    if unit_id:
        query = query.where(Case.unit_id == unit_id)
    if pupil_id:
        query = query.where(Case.pupil_id == pupil_id)
    with engine.db.read() as session:
        return list(session.scalars(query))


def case_data(engine: Engine, case_id: int) -> dict[str, Any]:
    """The case's current data (the data of its newest finished step)."""
    with engine.db.read() as session:
        row = session.execute(select(_CASES).where(_CASES.c.id == case_id)).first()
        if row is None:
            raise NotFoundError(f"case {case_id} does not exist")
        parsed = engine.specs.get(row.process_version_id)
        workflow = state.load(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs,
                              engine.script_engine)
    return dict((workflow.last_task or workflow.task_tree).data)
