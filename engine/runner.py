"""One engine step, persisted: run the workflow, then write what changed in ONE transaction.

A step is whatever one user action or one timer sets off: the workflow runs until it waits again, and
then the case state, the task rows, the timer rows and the audit events are written together, or not at
all. The case row's `row_version` is the optimistic lock: a step only saves if nobody saved in between.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task, TaskState
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from . import audit, deadlines, state
from .errors import ConflictError, DataNotJSONError, SandboxError, WorkflowError
from .models import Case, TaskRow, Timer, User
from .specs import ParsedVersion

START_MESSAGE_PREFIX = "elevflow.start."


def all_tasks(workflow: BpmnWorkflow) -> Iterable[Task]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[UUID, Task]:
    return {t.id: t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[str, datetime]]:
    """(bpmn id, due time) of every timer the case waits on."""
    found = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            due = definition.details(task).value
            if isinstance(due, str):
                due = datetime.fromisoformat(due)
            found.append((task.task_spec.bpmn_id, due))
    return sorted(found)


@dataclass
class Run:
    """A case's workflow loaded for one step, and what the step changed."""

    session: Session
    case: Case
    parsed: ParsedVersion
    workflow: BpmnWorkflow
    actor_id: int | None
    now: datetime
    events: list[audit.Event] = field(default_factory=list)
    new_task_rows: list[dict[str, Any]] = field(default_factory=list)
    open_before: dict[UUID, Task] = field(default_factory=dict)
    done_before: set[UUID] = field(default_factory=set)
    timers_before: list[tuple[str, datetime]] = field(default_factory=list)
    spawned: list[tuple[str, int]] = field(default_factory=list)  # (process key, pupil) linked cases

    def event(self, kind: str, **data: Any) -> None:
        self.events.append(audit.Event(kind, self.actor_id, self.case.id, self.case.pupil_id,
                                       self.case.unit_id, data))

    def begin(self) -> None:
        """Note what is open and done before the step, to tell afterwards what the step changed."""
        self.open_before = ready_human_tasks(self.workflow)
        self.done_before = {t.id for t in all_tasks(self.workflow) if t.state == TaskState.COMPLETED}
        self.timers_before = waiting_timers(self.workflow)

    def advance(self) -> None:
        """Run every automatic task until the case waits for a person, a timer or a message."""
        try:
            self.workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise translate(exc) from exc

    def finish(self, completed: set[UUID] | None = None, status: str | None = None) -> None:
        """Work out task rows, timers and audit events from the step, then save it all.

        `completed` names the human tasks the step completed (their rows are written by the caller);
        `status` ends the case another way than by reaching its end (``cancelled``).
        """
        completed = completed or set()
        for task in all_tasks(self.workflow):
            if task.id in self.done_before or task.state != TaskState.COMPLETED:
                continue
            spec = task.task_spec
            if isinstance(spec, (ExclusiveGateway, InclusiveGateway)):
                self.event("gateway_taken", bpmn_id=spec.bpmn_id, name=spec.bpmn_name,
                           taken=[c.task_spec.bpmn_id for c in task.children])
            elif isinstance(getattr(spec, "event_definition", None), TimerEventDefinition):
                self.event("timer_fired", bpmn_id=spec.bpmn_id, name=spec.bpmn_name)
        open_after = ready_human_tasks(self.workflow)
        for task_id, task in self.open_before.items():
            if task_id in open_after or task_id in completed:
                continue
            self.session.execute(update(TaskRow).where(TaskRow.id == task_id).values(
                state="cancelled", completed_at=self.now))
            self.event("task_cancelled", task_id=str(task_id), bpmn_id=task.task_spec.bpmn_id)
        for task_id, task in open_after.items():
            if task_id not in self.open_before:
                self._new_task_row(task)
        if self.new_task_rows:
            self.session.execute(insert(TaskRow), self.new_task_rows)
        self._save_timers()
        self._collect_thrown_events()
        self._save_case(status)
        audit.append(self.session, self.events, self.now)

    def _new_task_row(self, task: Task) -> None:
        meta = self.parsed.meta(task.task_spec)
        assignee = None
        if meta.assignee_from:
            assignee = _user_id(task.data.get(meta.assignee_from))
            if assignee is None or self.session.get(User, assignee) is None:
                raise WorkflowError(f"task {meta.name!r} goes to the person in {meta.assignee_from!r}, "
                                    f"but {task.data.get(meta.assignee_from)!r} is no known user",
                                    element_id=meta.bpmn_id)
        due = None
        if meta.due_rule:
            start = deadlines.clock_start(task.data.get(meta.due_from) if meta.due_from else None, self.now)
            due = deadlines.due_at(meta.due_rule, start)
        self.new_task_rows.append({
            "id": task.id, "case_id": self.case.id, "process_key": self.case.process_key,
            "bpmn_id": meta.bpmn_id, "name": meta.name, "role": meta.role, "unit_id": self.case.unit_id,
            "pupil_id": self.case.pupil_id, "assignee_id": assignee, "state": "ready", "form": meta.form,
            "created_at": self.now, "due_at": due, "completed_at": None, "completed_by": None, "data": None,
        })
        self.event("task_created", task_id=str(task.id), bpmn_id=meta.bpmn_id, name=meta.name,
                   role=meta.role, due_at=due.isoformat() if due else None)
        if assignee is not None:
            self.event("task_assigned", task_id=str(task.id), assignee_id=assignee,
                       reason=f"named in {meta.assignee_from}")

    def _save_timers(self) -> None:
        timers = waiting_timers(self.workflow)
        if timers == self.timers_before:
            return
        self.session.execute(delete(Timer).where(Timer.case_id == self.case.id))
        if timers:
            self.session.execute(insert(Timer), [{"case_id": self.case.id, "bpmn_id": bpmn_id, "due_at": due}
                                                 for bpmn_id, due in timers])

    def _collect_thrown_events(self) -> None:
        for event in self.workflow.get_events():
            name = getattr(event.event_definition, "name", "") or ""
            if name.startswith(START_MESSAGE_PREFIX):
                self.spawned.append((name[len(START_MESSAGE_PREFIX):], self.case.pupil_id))

    def _save_case(self, status: str | None) -> None:
        if status is None and self.workflow.completed:
            status = "completed"
            self.event("case_completed")
        blob = state.dump(self.workflow, compress=status is not None)
        values: dict[str, Any] = {"state": blob, "row_version": self.case.row_version + 1,
                                  "serializer_version": state.SERIALIZER_VERSION}
        if status is not None:
            values.update(status=status, ended_at=self.now)
        result = self.session.execute(update(Case).where(
            Case.id == self.case.id, Case.row_version == self.case.row_version).values(**values))
        if result.rowcount != 1:
            raise ConflictError(f"case {self.case.id} was changed by someone else meanwhile; "
                                "reload it and try again")
        self.case.row_version += 1
        self.case.status = values.get("status", self.case.status)


def _user_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def translate(exc: BaseException) -> Exception:
    """Turn SpiffWorkflow's wrapped errors into the engine's own, keeping the real cause's message."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (SandboxError, DataNotJSONError, WorkflowError, ConflictError)):
            return cause
        cause = cause.__cause__ or cause.__context__
    spec = getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    return WorkflowError(f"the process failed at {element or 'an unknown step'}: {exc}", element_id=element)


def load(session: Session, db_specs: Any, case: Case, actor_id: int | None, now: datetime,
         script_engine: Any) -> Run:
    parsed = db_specs.get(session, case.process_version_id)
    workflow = state.load(case.state, case.serializer_version, parsed.spec, parsed.subprocess_specs,
                          script_engine)
    return Run(session, case, parsed, workflow, actor_id, now)


def lock_case(session: Session, case_id: int) -> Case | None:
    """Read a case row for a step (row-locked on PostgreSQL so concurrent steps queue, not collide)."""
    return session.scalars(select(Case).where(Case.id == case_id).with_for_update()).first()


def data_digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
