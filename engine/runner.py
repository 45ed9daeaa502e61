"""One engine step, persisted: run the workflow, then write what changed in ONE transaction.

A step is whatever one user action or one timer sets off: the workflow runs until it waits again, and
then the case state, the task rows, the timer rows and the audit events are written together, or not at
all. The case row's `row_version` is the optimistic lock: a step only saves if nobody saved in between.
Its statements run on the bare DB-API connection (see dbapi.py), since every user action pays for them.

Lock order (PostgreSQL; SQLite has one writer at a time): every transaction that writes takes its row
locks in this order, and never the other way round, so two of them can wait for each other but never
deadlock:
  1. the case row (`lock_case`, the timer claim's `FOR NO KEY UPDATE OF c`, and `tasks.complete_task`,
     which locks the case before the task even though it is given the task),
  2. task rows of that case (a completion's task, the tasks a step cancels; claims, releases and
     deadline notices lock a task row without its case, which is a prefix of this order),
  3. the audit head, always last (`audit.append`, at the end of the transaction).
Rows that merely refer to a case or task (notifications, drafts, new task rows) take only key-share
locks, which these FOR NO KEY UPDATE locks do not block.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task, TaskState

from . import assignment, audit, bounds, deadlines, state
from .dbapi import Sql, Tx
from .errors import ConflictError, DataNotJSONError, NotStaffError, SandboxError, WorkflowError
from .models import parse_id
from .notify import notify
from .sandbox import script_engine
from .specs import ParsedVersion, TaskMeta

START_MESSAGE_PREFIX = "elevflow.start."

CANCEL_TASK = Sql("UPDATE tasks SET state = 'cancelled', completed_at = :now WHERE id = :id")
INSERT_TASK = Sql("""INSERT INTO tasks (id, case_id, process_key, bpmn_id, name, role, unit_id, pupil_id,
    assignee_id, state, form, created_at, due_at, notice_at, notice_level) VALUES (:id, :case_id,
    :process_key, :bpmn_id, :name, :role, :unit_id, :pupil_id, :assignee_id, 'ready', :form, :created_at,
    :due_at, :notice_at, 0)""")
DELETE_TIMERS = Sql("DELETE FROM timers WHERE case_id = :case_id")
# A closed task's working aids (its drafts and follow-up dates) go in the step that closes it, so no
# housekeeping ever has to look for them among the closed tasks of years (one statement on PostgreSQL).
DROP_WORKING_AIDS = {
    "sqlite": [Sql("DELETE FROM task_drafts WHERE task_id = :task_id"),
               Sql("DELETE FROM follow_ups WHERE task_id = :task_id")],
    "postgresql": [Sql("""WITH drafts AS (DELETE FROM task_drafts WHERE task_id = :task_id)
        DELETE FROM follow_ups WHERE task_id = :task_id""")]}
INSERT_TIMER = Sql("INSERT INTO timers (case_id, bpmn_id, due_at) VALUES (:case_id, :bpmn_id, :due_at)")
SAVE_CASE = Sql("""UPDATE cases SET state = :state, row_version = :new_version, status = :status,
    ended_at = :ended_at, serializer_version = :serializer, error = NULL, error_at = NULL,
    error_code = NULL
    WHERE id = :id AND row_version = :version""")
CASE_COLUMNS = "id, process_version_id, process_key, pupil_id, unit_id, status, row_version"
LOCK_CASE = {"sqlite": Sql(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id"),
             "postgresql": Sql(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id FOR NO KEY UPDATE")}
CASE_STATE = Sql("SELECT state, serializer_version FROM cases WHERE id = :id")


def all_tasks(workflow: BpmnWorkflow) -> Iterable[Task]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[UUID, Task]:
    """The READY user and manual tasks (a flat scan: cheaper than SpiffWorkflow's tree iterator)."""
    return {t.id: t for t in all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual}


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
class CaseRef:
    """The case columns a step needs (read with the case row's lock)."""

    id: int
    process_version_id: int
    process_key: str
    pupil_id: int | None  # None: a unit-level case
    unit_id: int
    status: str
    row_version: int


@dataclass
class Run:
    """A case's workflow loaded for one step, and what the step changed."""

    tx: Tx
    case: CaseRef
    parsed: ParsedVersion
    workflow: BpmnWorkflow
    actor_id: int | None
    now: datetime
    days_off: Callable[[date], bool] | None = None  # the unit's school breaks, for business days
    events: list[audit.Event] = field(default_factory=list)
    new_task_rows: list[dict[str, Any]] = field(default_factory=list)
    open_before: dict[UUID, Task] = field(default_factory=dict)
    done_before: set[UUID] = field(default_factory=set)
    timers_before: list[tuple[str, datetime]] = field(default_factory=list)
    spawned: list[tuple[str, int | None]] = field(default_factory=list)  # (process key, pupil) linked cases
    to_notify: list[tuple[int, UUID]] = field(default_factory=list)  # (user, task) given a new task
    submitted: frozenset[str] = frozenset()  # the keys of the form a user submitted in this step

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
        budget = bounds.StepBudget()
        try:
            with budget.running():
                self.workflow.do_engine_steps(will_complete_task=budget)
        except SpiffWorkflowException as exc:
            raise translate(exc) from exc
        except RecursionError as exc:
            raise bounds.too_deep() from exc

    def moved(self) -> bool:
        """Whether the workflow got anywhere since `begin`: some task completed (a timer that fired, too)."""
        return any(t.state == TaskState.COMPLETED and t.id not in self.done_before
                   for t in all_tasks(self.workflow))

    def finish(self, completed: set[UUID] | None = None, status: str | None = None) -> None:
        """Work out task rows, timers and audit events from the step, then save it all.

        `completed` names the human tasks the step completed (their rows are written by the caller);
        `status` ends the case another way than by reaching its end (``cancelled``). Every task the step
        closed, completed or cancelled, loses its drafts and follow-up dates here, in the same step.
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
        closed = list(completed)
        for task_id, task in self.open_before.items():
            if task_id in open_after or task_id in completed:
                continue
            self.tx.execute(CANCEL_TASK, {"id": self.tx.uuid(task_id), "now": self.tx.time(self.now)})
            self.event("task_cancelled", task_id=str(task_id), bpmn_id=task.task_spec.bpmn_id)
            closed.append(task_id)
        if closed:
            rows = [{"task_id": self.tx.uuid(task_id)} for task_id in closed]
            for statement in DROP_WORKING_AIDS[self.tx.dialect]:
                self.tx.executemany(statement, rows)
        for task_id, task in open_after.items():
            if task_id not in self.open_before:
                self._new_task_row(task)
        if self.new_task_rows:
            self.tx.executemany(INSERT_TASK, self.new_task_rows)
        for user_id, task_id in self.to_notify:  # after the rows exist: a notice names its task's step
            if user_id != self.actor_id:  # nobody needs telling what they just did themselves
                notify(self.tx, user_id, "task_assigned", case_id=self.case.id, task_id=task_id, now=self.now)
        self._save_timers()
        self._collect_thrown_events()
        self._save_case(status)
        audit.append(self.tx, self.events, self.now)

    def _new_task_row(self, task: Task) -> None:
        meta = self.parsed.meta(task.task_spec)
        assignee = None
        if meta.assignee_from:
            assignee = self._named_assignee(task, meta)
        due = None
        rule = deadlines.rule_for(self.case.process_key, meta.bpmn_id, meta.due_rule)
        if rule:
            start = deadlines.clock_start(task.data.get(meta.due_from) if meta.due_from else None, self.now)
            due = deadlines.due_at(rule, start, self.days_off)
        self.new_task_rows.append({
            "id": self.tx.uuid(task.id), "case_id": self.case.id, "process_key": self.case.process_key,
            "bpmn_id": meta.bpmn_id, "name": meta.name, "role": meta.role, "unit_id": self.case.unit_id,
            "pupil_id": self.case.pupil_id, "assignee_id": assignee, "form": meta.form,
            "created_at": self.tx.time(self.now), "due_at": self.tx.time(due),
            "notice_at": self.tx.time(deadlines.first_notice(due, self.case.process_key, meta.bpmn_id,
                                                             self.now, self.days_off)),
        })
        self.event("task_created", task_id=str(task.id), bpmn_id=meta.bpmn_id, name=meta.name,
                   role=meta.role, due_at=due.isoformat() if due else None)
        if assignee is not None:
            self.event("task_assigned", task_id=str(task.id), assignee_id=assignee,
                       reason=f"named in {meta.assignee_from}")
            self.to_notify.append((assignee, task.id))

    def _named_assignee(self, task: Task, meta: TaskMeta) -> int | None:
        """The person the case data names for a task (`assigneeFrom`), if they may take it: active, holding
        a role its lane serves at the pupil's unit, or a written delegation for its decision
        (`assignment.may_take`). Anyone else — a routine's script naming its author, a mistyped id — is
        refused: the task waits in its lane's pool, and the case's history says so (`assignee_refused`),
        for the rektor and the lane to see. The case never stops on it. Only when the form the user has
        just submitted named them (`submitted`) is the step refused instead, beside that field
        (NotStaffError), so they can choose someone else."""
        named = task.data.get(meta.assignee_from)
        user_id = parse_id(named)
        if user_id is not None and assignment.may_take(self.tx, user_id, self.case.unit_id, meta.role,
                                                       meta.decision, meta.non_delegable, self.now):
            return user_id
        if meta.assignee_from in self.submitted:  # the user's own form named them: say so beside the field
            raise NotStaffError({meta.assignee_from: [
                f"task {meta.name!r} goes to the person in {meta.assignee_from!r}, but {named!r} is no "
                "active member of staff at this school unit who may take it"]})
        self.event("assignee_refused", task_id=str(task.id), bpmn_id=meta.bpmn_id, name=meta.name,
                   role=meta.role, field=meta.assignee_from, named_id=user_id,
                   named=None if user_id is not None or named is None else repr(named)[:100])
        return None

    def _save_timers(self) -> None:
        timers = waiting_timers(self.workflow)
        if timers == self.timers_before:
            return
        self.tx.execute(DELETE_TIMERS, {"case_id": self.case.id})
        if timers:
            self.tx.executemany(INSERT_TIMER, [{"case_id": self.case.id, "bpmn_id": bpmn_id,
                                                "due_at": self.tx.time(due)} for bpmn_id, due in timers])

    def _collect_thrown_events(self) -> None:
        for event in self.workflow.get_events():
            name = getattr(event.event_definition, "name", "") or ""
            if name.startswith(START_MESSAGE_PREFIX):
                self.spawned.append((name[len(START_MESSAGE_PREFIX):], self.case.pupil_id))

    def _save_case(self, status: str | None) -> None:
        if status is None and self.workflow.completed:
            status = "completed"
            self.event("case_completed")
        saved = self.tx.rowcount(SAVE_CASE, {
            "id": self.case.id, "version": self.case.row_version,
            "state": state.dump(self.workflow, compress=status is not None),
            "new_version": self.case.row_version + 1, "status": status or self.case.status,
            "ended_at": self.tx.time(self.now) if status else None, "serializer": state.SERIALIZER_VERSION})
        if saved != 1:
            raise ConflictError("conflict.case_changed", case=str(self.case.id))
        self.case.row_version += 1
        self.case.status = status or self.case.status


def translate(exc: BaseException) -> Exception:
    """Turn SpiffWorkflow's wrapped errors into the engine's own, keeping the real cause's message."""
    cause: BaseException | None = exc
    spec = getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    while cause is not None:
        if isinstance(cause, (SandboxError, DataNotJSONError, WorkflowError, ConflictError)):
            return cause
        if isinstance(cause, RecursionError):
            return bounds.too_deep(element)
        cause = cause.__cause__ or cause.__context__
    return WorkflowError(f"the process failed at {element or 'an unknown step'}: {exc}", element_id=element)


def lock_case(tx: Tx, case_id: int) -> CaseRef | None:
    """Read a case row for a step (row-locked on PostgreSQL so concurrent steps queue, not collide;
    on SQLite the transaction already holds the write lock)."""
    row = tx.first(LOCK_CASE[tx.dialect], {"id": case_id})
    return CaseRef(*row) if row is not None else None


def load(tx: Tx, db: Any, case: CaseRef, actor_id: int | None, now: datetime) -> Run:
    """The case's workflow: the live one if this worker holds the current version, else from its row."""
    parsed = db.specs.get(case.process_version_id)
    workflow = db.live.take(case.id, case.row_version)
    if workflow is None:
        blob, version = tx.first(CASE_STATE, {"id": case.id})
        workflow = state.load(bytes(blob), version, parsed.spec, parsed.subprocess_specs, script_engine())
    return Run(tx, case, parsed, workflow, actor_id, now, db.breaks.is_off(case.unit_id))


def keep_live(db: Any, run: Run) -> None:
    """After the step's commit: keep the workflow for the case's next step, unless the case ended."""
    if run.case.status == "running":
        db.live.put(run.case.id, run.case.row_version, run.workflow)


def data_digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
