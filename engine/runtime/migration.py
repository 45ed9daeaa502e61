"""Moving running cases to a newer version of their routine, where SpiffWorkflow's diff shows it is safe.

A case may move when nothing it has done or is waiting on is gone or different in the new version:

1. SpiffWorkflow aligns the old spec with the new by BPMN id (`SpecDiff`) and the case's tasks with it
   (`WorkflowDiff`), for the process and every subprocess the case has open.
2. A case cannot move when a step it has passed, or is at, is removed; when a step it is at (an open
   task, a timer or message it waits for) changed; or when a subprocess it is inside is gone.
3. Otherwise the move is tried in memory: `migrate_workflow` swaps the specs and re-predicts the open
   branches; timers keep their due times (their internal state is put back, so moving a case never
   restarts an appeal window); the result must serialise and load again against the new version.

`plan` is the dry run: one verdict per running case with the reasons it cannot move. `migrate` does the
move case by case, each in its own transaction under the case's row lock (a step may have run since the
dry run, so each case is judged again): task rows of steps that are no longer open are cancelled, new
ones opened, timer rows rewritten, and a `case_migrated` event joins the audit chain.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.task import TaskState
from sqlalchemy import select

from ..errors import ElevflowError, NotFoundError, PermissionDeniedError
from ..routines import editing
from ..routines.specs import ParsedVersion
from ..storage import state
from ..storage.dbapi import Sql
from ..storage.models import Case, ProcessVersion
from . import runner

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PASSED = TaskState.COMPLETED | TaskState.ERROR | TaskState.CANCELLED
log = logging.getLogger(__name__)
SET_VERSION = Sql("UPDATE cases SET process_version_id = :version_id WHERE id = :id")


@dataclass
class CaseMove:
    """One case's verdict: whether it can move (or moved) to the new version, and why not."""

    case_id: int
    pupil_id: int | None
    unit_id: int
    from_version: int
    to_version: int
    movable: bool
    reasons: list[str] = field(default_factory=list)
    moved: bool = False


def _name(task_spec: object) -> str:
    return getattr(task_spec, "bpmn_name", None) or getattr(task_spec, "bpmn_id", None) or str(task_spec)


def _task_reasons(diff: WorkflowDiff, where: str, number: int) -> list[str]:
    reasons = []
    for task in diff.removed:
        if task.state & OPEN:
            reasons.append(f"it is at {_name(task.task_spec)!r}{where}, which version {number} removes")
        elif task.state & PASSED:
            reasons.append(f"it has passed {_name(task.task_spec)!r}{where}, which version {number} removes: "
                           "its history would not fit the new version")
    for task in diff.changed:
        if task.state & OPEN and task not in diff.removed:
            reasons.append(f"it is at {_name(task.task_spec)!r}{where}, which version {number} changes; "
                           "it can move once that step is done")
    return reasons


def _assess(workflow: BpmnWorkflow, new: ParsedVersion, number: int) -> tuple[list[str], object]:
    top, subs = diff_workflow(state._REGISTRY, workflow, new.spec, new.subprocess_specs)
    reasons = _task_reasons(top, "", number)
    for sub_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            reasons.append(f"it is inside process {sub.spec.name!r}, which version {number} no longer calls")
        else:
            reasons += _task_reasons(sub_diff, f" (in {sub.spec.name})", number)
    return reasons, (top, subs)


def _apply(workflow: BpmnWorkflow, new: ParsedVersion, diffs: object) -> None:
    """Swap the specs (SpiffWorkflow's migrate_workflow), keeping every waiting timer's due time."""
    top: Any
    subs: Any
    top, subs = diffs  # type: ignore[misc]
    kept = {t.id: copy.deepcopy(t.internal_data) for t in runner.all_tasks(workflow)
            if t.state == TaskState.WAITING and "event_value" in t.internal_data}
    workflow.subprocess_specs = new.subprocess_specs
    migrate_workflow(top, workflow, new.spec)
    for sub_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        migrate_workflow(sub_diff, sub, new.subprocess_specs[sub.spec.name])
    for task in runner.all_tasks(workflow):
        if task.id in kept and task.state == TaskState.WAITING:
            task.internal_data = kept[task.id]


def _trial(workflow: BpmnWorkflow, new: ParsedVersion, number: int) -> list[str]:
    """Judge a case; if it looks safe, move it in memory and check the result loads again."""
    reasons, diffs = _assess(workflow, new, number)
    if reasons:
        return reasons
    try:
        _apply(workflow, new, diffs)
        state.load(state.dump(workflow), state.SERIALIZER_VERSION, new.spec, new.subprocess_specs,
                   workflow.script_engine)
    except Exception as exc:  # SpiffWorkflow could not carry this case's tree over: say so, move nothing
        return [f"SpiffWorkflow cannot carry the case over to version {number}: {exc}"]
    return []


def _subject_changed(pupil_id: int | None, new: ParsedVersion, number: int) -> list[str]:
    """A pupil's case cannot become a unit's, nor the other way round (`caseSubject`, specs.py)."""
    if new.unit_level and pupil_id is not None:
        return [f"version {number} runs as a case of the school unit, without a pupil; "
                "this case is a pupil's"]
    if not new.unit_level and pupil_id is None:
        return [f"version {number} runs as a pupil's case; "
                "this case belongs to the school unit and has no pupil"]
    return []


def target_version(engine: Engine, key: str, to_version: int | None) -> ProcessVersion:
    with engine.db.read() as session:
        query = select(ProcessVersion).where(ProcessVersion.key == key)
        query = query.where(ProcessVersion.version == to_version) if to_version else \
            query.order_by(ProcessVersion.version.desc()).limit(1)
        found = session.scalars(query).first()
    if found is None:
        raise NotFoundError(f"routine {key!r} has no version {to_version}" if to_version
                            else f"no routine {key!r} is deployed")
    return found


def plan(engine: Engine, key: str, to_version: int | None = None, *, by: int,
         case_ids: list[int] | None = None) -> list[CaseMove]:
    """The dry run: every running case of `key` on another version, and whether it could move."""
    if not editing.is_process_owner(engine, by):
        raise PermissionDeniedError(f"user {by} may not move cases: that takes the process-owner role")
    target = target_version(engine, key, to_version)
    new = engine.specs.get(target.id)
    with engine.db.read() as session:
        numbers = dict(session.execute(select(ProcessVersion.id, ProcessVersion.version)
                                       .where(ProcessVersion.key == key)).all())
        query = select(Case).where(Case.process_key == key, Case.status == "running",
                                   Case.process_version_id != target.id).order_by(Case.id)
        if case_ids is not None:
            query = query.where(Case.id.in_(case_ids))
        rows = list(session.scalars(query))
    if case_ids is not None and (missing := sorted(set(case_ids) - {c.id for c in rows})):
        raise NotFoundError(f"cases {missing} are not running cases of {key!r} on another version")
    moves = []
    for case in rows:
        parsed = engine.specs.get(case.process_version_id)
        workflow = state.load(case.state, case.serializer_version, parsed.spec, parsed.subprocess_specs,
                              engine.script_engine)
        reasons = (_subject_changed(case.pupil_id, new, target.version)
                   or _trial(workflow, new, target.version))
        moves.append(CaseMove(case.id, case.pupil_id, case.unit_id, numbers[case.process_version_id],
                              target.version, not reasons, reasons))
    return moves


def migrate(engine: Engine, key: str, to_version: int | None = None, *, by: int,
            case_ids: list[int] | None = None) -> list[CaseMove]:
    """Move every movable running case of `key` (or those in `case_ids`) to the version; audited.

    Returns the verdict for each case, with `moved` set on those that moved. A case that cannot move
    is left exactly as it was.
    """
    report = plan(engine, key, to_version, by=by, case_ids=case_ids)
    target = target_version(engine, key, to_version)
    new = engine.specs.get(target.id)
    for move in report:
        if not move.movable:
            continue
        try:
            move.moved = _move(engine, move, new, target, key, by)
        except ElevflowError as exc:  # this case's step failed and rolled back; the others still move
            log.warning("case %s could not move to %s v%s: %s", move.case_id, key, target.version, exc)
            move.movable, move.reasons = False, [f"moving it failed and changed nothing: {exc}"]
    return report


def _move(engine: Engine, move: CaseMove, new: ParsedVersion, target: ProcessVersion, key: str,
          by: int) -> bool:
    """One case's move, a step of its own under its row lock (runner.step); False when it may no longer
    move."""
    with runner.step(engine, "migration", by) as step:
        case = step.lock(move.case_id)
        if case is None or case.status != "running":
            move.movable, move.reasons = False, ["it ended meanwhile"]
            return False
        run = step.load(case)
        old_version = case.process_version_id
        reasons, diffs = _assess(run.workflow, new, target.version)
        if reasons:  # a step ran since the dry run
            move.movable, move.reasons = False, reasons
            step.discard()
            return False
        _apply(run.workflow, new, diffs)
        run.parsed = new
        run.advance()
        step.tx.execute(SET_VERSION, {"version_id": target.id, "id": case.id})
        case.process_version_id = target.id
        run.event("case_migrated", key=key, from_version=move.from_version, to_version=target.version,
                  from_version_id=old_version, to_version_id=target.id)
    return True
