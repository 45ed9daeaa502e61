"""One engine step, persisted: run the workflow, then write what changed in ONE transaction.

A step is whatever one user action or one timer sets off: the workflow runs until it waits again, and
then the case state, the task rows, the timer rows and the audit events are written together, or not at
all. The case row's `row_version` is the optimistic lock: a step only saves if nobody saved in between.
Its statements run on the bare DB-API connection (see dbapi.py), since every user action pays for them.

Every state change of a case - starting it, completing or signing a task, cancelling it, a message, a
timer, a move to a new version (`KINDS`) - is one `step`, the one step protocol: the caller's body locks,
checks, loads and runs the case; `step` saves, commits and keeps the live cache the same way for every
kind, and undoes a failed step the same way (its docstring has the algorithm).

Lock order (PostgreSQL; SQLite has one writer at a time): every transaction that writes takes its row
locks in this order, and never the other way round, so two of them can wait for each other but never
deadlock:
  1. the case row (`lock_case`, the timer claim's `FOR NO KEY UPDATE OF c`, and `tasks.complete_task`,
     which locks the case before the task even though it is given the task),
  2. task rows of that case (a completion's task, the tasks a step cancels; claims, releases and
     deadline notices lock a task row without its case, which is a prefix of this order),
  3. the audit head, always last (`audit.append`, at the end of the transaction: `step` saves the run
     after its body, so nothing a body writes comes after it).
Rows that merely refer to a case or task (notifications, drafts, new task rows) take only key-share
locks, which these FOR NO KEY UPDATE locks do not block.
"""
from __future__ import annotations

import hashlib
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Iterator
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import SendTask
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task, TaskState

from ..errors import (
    CaseSubjectError,
    ConflictError,
    DataNotJSONError,
    NotFoundError,
    NotStaffError,
    SandboxError,
    WorkflowError,
)
from ..expressions import bounds, deadlines
from ..org import access, diary
from ..routines.specs import ParsedVersion, TaskMeta
from ..settings import Config
from ..storage import audit, state
from ..storage.dbapi import Sql, Tx
from ..storage.models import parse_id
from ..storage.workflow import Workflow
from ..work import assignment, webhooks
from ..work.notify import notify
from . import failures, health, interrupting, outbox, sending

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
PUPIL_UNIT = Sql("SELECT unit_id FROM pupils WHERE id = :id")
UNIT_EXISTS = Sql("SELECT 1 FROM school_units "
                  "WHERE id = COALESCE(:id, (SELECT unit_id FROM pupils WHERE id = :pupil_id))")
LATEST_VERSION = Sql("SELECT id, version FROM process_versions WHERE key = :key "
                     "ORDER BY version DESC LIMIT 1")
#: Every kind of state change of a case; each goes through `step`. True where a routine's failure in it
#: is recorded on its case (failures.py): a case that could not start does not exist, cancelling runs no
#: routine code, and a case that failed to move stays on its version as it was (the move's report says why).
KINDS = {"start": False, "complete": True, "sign": True, "cancel": False, "message": True, "timer": True,
         "migration": False}


def all_tasks(workflow: BpmnWorkflow) -> Iterable[Task]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[UUID, Task]:
    """The READY user and manual tasks (a flat scan: cheaper than SpiffWorkflow's tree iterator)."""
    return {t.id: t for t in all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual}


def _timers_of(task: Task) -> Iterator[tuple[str, TimerEventDefinition]]:
    """(bpmn id, definition) of each timer a waiting task catches: its own, or - an event-based gateway
    or a multiple event - each timer among the events it waits for (the gateway's, under the id of the
    catch event that follows it)."""
    spec = task.task_spec
    definition = spec.event_definition
    if isinstance(definition, TimerEventDefinition):
        yield spec.bpmn_id, definition
    elif isinstance(definition, MultipleEventDefinition):
        outputs = spec.outputs if len(spec.outputs) == len(definition.event_definitions) else None
        for index, inner in enumerate(definition.event_definitions):
            if isinstance(inner, TimerEventDefinition):
                yield (outputs[index].bpmn_id if outputs else spec.bpmn_id), inner


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[str, datetime]]:
    """(bpmn id, due time) of every timer the case waits on, wherever it is: a boundary event, an
    intermediate catch event, an event-based gateway's branch, an event subprocess's start."""
    found = []
    for task in workflow.event_manager.tasks.values():
        for bpmn_id, definition in _timers_of(task):
            due = definition.details(task).value
            if isinstance(due, str):
                due = datetime.fromisoformat(due)
            if isinstance(due, datetime):
                found.append((bpmn_id, due))
    return sorted(found)


def _cycles_left(workflow: BpmnWorkflow) -> dict[UUID, int]:
    """The firings each waiting cycle timer has left (`R6/P1D`: 6 until it first fires)."""
    left = {}
    for task in workflow.event_manager.tasks.values():
        if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):
                left[task.id] = int(value.get("cycles", 0))
    return left


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
    rules: deadlines.Config = field(default_factory=deadlines.Config)  # the engine's deadline rules
    limits: bounds.Bounds = bounds.DEFAULT  # the engine's bounds
    config: Config | None = None  # the engine's settings (e-mail for the notifications the step sends)
    events: list[audit.Event] = field(default_factory=list)
    new_task_rows: list[dict[str, Any]] = field(default_factory=list)
    open_before: dict[UUID, Task] = field(default_factory=dict)
    done_before: set[Task] = field(default_factory=set)  # by identity: a UUID's hash is Python code
    timers_before: list[tuple[str, datetime]] = field(default_factory=list)
    cycles_before: dict[UUID, int] = field(default_factory=dict)
    spawned: list[tuple[str, int | None]] = field(default_factory=list)  # (process key, pupil) linked cases
    to_notify: list[tuple[int, UUID]] = field(default_factory=list)  # (user, task) given a new task
    submitted: frozenset[str] = frozenset()  # the keys of the form a user submitted in this step
    uncaught: Any = None  # an error event definition thrown and caught nowhere in the case
    failed_at: str | None = None  # the element that threw it
    thrown: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # for other cases (outbox.py)
    #: Writes another part of the engine adds to the step (an outbox row, say): `finish` runs them after
    #: the case's own rows and before the audit events. On PostgreSQL they go with the step's other writes
    #: and its COMMIT in one round trip as long as they only write (Tx.execute, executemany, expect_rows)
    #: and read nothing back.
    also: list[Callable[[Tx], None]] = field(default_factory=list)
    #: Tasks this step closes that are known to have no drafts or follow-up dates (read under their lock),
    #: so `finish` need not delete any.
    without_aids: set[UUID] = field(default_factory=set)

    def event(self, kind: str, **data: Any) -> None:
        self.events.append(audit.Event(kind, self.actor_id, self.case.id, self.case.pupil_id,
                                       self.case.unit_id, data))

    def begin(self) -> None:
        """Note what is open and done before the step, to tell afterwards what the step changed."""
        self.open_before = ready_human_tasks(self.workflow)
        self.done_before = {t for t in all_tasks(self.workflow) if t.state == TaskState.COMPLETED}
        self.timers_before = waiting_timers(self.workflow)
        self.cycles_before = _cycles_left(self.workflow)

    def advance(self) -> None:
        """Run every automatic task until the case waits for a person, a timer or a message."""
        budget = bounds.StepBudget(self.limits)
        try:
            with budget.running():
                self.workflow.do_engine_steps(will_complete_task=budget)
                while interrupting.interrupt(self.workflow):  # BPMN's interrupting event subprocesses
                    self.workflow.do_engine_steps(will_complete_task=budget)
        except SpiffWorkflowException as exc:
            raise translate(exc) from exc
        except RecursionError as exc:
            raise bounds.too_deep() from exc

    def moved(self) -> bool:
        """Whether the workflow got anywhere since `begin`: some task completed (a timer that fired, too)."""
        return any(t.state == TaskState.COMPLETED and t not in self.done_before
                   for t in all_tasks(self.workflow))

    def finish(self, completed: set[UUID] | None = None, status: str | None = None) -> None:
        """Work out task rows, timers and audit events from the step, then save it all.

        `completed` names the human tasks the step completed (their rows are written by the caller);
        `status` ends the case another way than by reaching its end (``cancelled``). Every task the step
        closed, completed or cancelled, loses its drafts and follow-up dates here, in the same step.
        """
        completed = completed or set()
        self._collect_thrown_events()
        for task in all_tasks(self.workflow):
            if task.state != TaskState.COMPLETED or task in self.done_before:
                continue
            spec = task.task_spec
            if isinstance(spec, (ExclusiveGateway, InclusiveGateway)):
                self.event("gateway_taken", bpmn_id=spec.bpmn_id, name=spec.bpmn_name,
                           taken=[c.task_spec.bpmn_id for c in task.children])
            elif isinstance(getattr(spec, "event_definition", None), CycleTimerEventDefinition):
                pass  # a cycle's firings are its own events below; its completion is none of them
            elif isinstance(getattr(spec, "event_definition", None), TimerEventDefinition):
                self.event("timer_fired", bpmn_id=spec.bpmn_id, name=spec.bpmn_name)
            elif isinstance(getattr(spec, "event_definition", None), MultipleEventDefinition):
                self._gateway_timers(task)
            elif isinstance(spec, ScriptTask):
                self.event("script_ran", bpmn_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id)
            elif isinstance(spec, SendTask) and not sending.names_message(spec):
                sending.send(self, task)  # one that names a message throws it to other cases instead
        self._cycle_firings()
        open_after = ready_human_tasks(self.workflow)
        closed = list(completed)
        for task_id, task in self.open_before.items():
            if task_id in open_after or task_id in completed:
                continue
            self.tx.execute(CANCEL_TASK, {"id": self.tx.uuid(task_id), "now": self.tx.time(self.now)})
            self.event("task_cancelled", task_id=str(task_id), bpmn_id=task.task_spec.bpmn_id)
            closed.append(task_id)
        rows = [{"task_id": self.tx.uuid(task_id)} for task_id in closed if task_id not in self.without_aids]
        if rows:
            for statement in DROP_WORKING_AIDS[self.tx.dialect]:
                self.tx.executemany(statement, rows)
        for task_id, task in open_after.items():
            if task_id not in self.open_before:
                self._new_task_row(task)
        if self.new_task_rows:
            self.tx.executemany(INSERT_TASK, self.new_task_rows)
        for user_id, task_id in self.to_notify:  # after the rows exist: a notice names its task's step
            if user_id != self.actor_id:  # nobody needs telling what they just did themselves
                assert self.config is not None  # load() and new_case() give every Run its engine's config
                notify(self.tx, user_id, "task_assigned", case_id=self.case.id, task_id=task_id, now=self.now,
                       config=self.config)
        self._save_timers()
        outbox.record(self)  # messages and signals for other cases: delivered by crosscase.py
        self._save_case(status)
        for write in self.also:  # rows other parts of the engine write in this step's transaction
            write(self.tx)
        audit.append(self.tx, self.events, self.now)
        # --- outgoing webhooks (engine/work/webhooks.py): the outbox rows, in this step's transaction; after
        # the audit head, so their ids are in commit order (inserts only: no row lock anyone else holds).
        # On PostgreSQL its read of the subscribers was sent with the step's first (`step`: read_ahead).
        webhooks.enqueue(self.tx, self.case, self.events, self.now)

    def _gateway_timers(self, task: Task) -> None:
        """The timers among the events an event-based gateway (or multiple event) caught."""
        caught = [e.event_definition for e in task.internal_data.get("seen_events", [])]
        for bpmn_id, definition in _timers_of(task):
            if definition in caught:
                self.event("timer_fired", bpmn_id=bpmn_id, name=definition.name or None)

    def _cycle_firings(self) -> None:
        """One `timer_fired` for each firing of a repeating timer in this step, with the firings left."""
        left = _cycles_left(self.workflow)
        for task_id, before in self.cycles_before.items():
            after = left.get(task_id, 0)
            task = self.workflow.get_task_from_id(task_id) if before > after else None
            if task is None:
                continue
            for firing in range(before - after):
                self.event("timer_fired", bpmn_id=task.task_spec.bpmn_id, name=task.task_spec.bpmn_name,
                           cycles_left=before - firing - 1)

    def _thrower(self, definition: Any) -> str | None:
        """The end or throw event of this step that threw an event definition."""
        for task in all_tasks(self.workflow):
            if (task not in self.done_before and task.state == TaskState.COMPLETED
                    and task.task_spec.__dict__.get("event_definition") == definition):
                return task.task_spec.bpmn_id
        return None

    def _new_task_row(self, task: Task) -> None:
        meta = self.parsed.meta(task.task_spec)
        assignee = None
        if meta.assignee_from:
            assignee = self._named_assignee(task, meta)
        due = None
        rule = deadlines.rule_for(self.rules, self.case.process_key, meta.bpmn_id, meta.due_rule)
        if rule:
            due = deadlines.due_from(rule, task.data.get(meta.due_from) if meta.due_from else None, self.now,
                                     self.days_off, self.limits.timer_years)
        self.new_task_rows.append({
            "id": self.tx.uuid(task.id), "case_id": self.case.id, "process_key": self.case.process_key,
            "bpmn_id": meta.bpmn_id, "name": meta.name, "role": meta.role, "unit_id": self.case.unit_id,
            "pupil_id": self.case.pupil_id, "assignee_id": assignee, "form": meta.form,
            "created_at": self.tx.time(self.now), "due_at": self.tx.time(due),
            "notice_at": self.tx.time(deadlines.first_notice(self.rules, due, self.case.process_key,
                                                             meta.bpmn_id, self.now, self.days_off)),
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
        """The events the workflow threw that nothing in it caught: `elevflow.start.<routine>` messages
        start linked cases; an error nothing caught fails the case (`uncaught`)."""
        for event in self.workflow.get_events():
            definition = event.event_definition
            name = getattr(definition, "name", "") or ""
            if isinstance(definition, ErrorEventDefinition) and self.uncaught is None:
                self.uncaught = definition
                self.failed_at = self._thrower(definition)
                self.workflow.cancel()  # nothing of the case runs on: its open tasks and timers go
            elif name.startswith(START_MESSAGE_PREFIX):
                self.spawned.append((name[len(START_MESSAGE_PREFIX):], self.case.pupil_id))
            elif name and (kind := outbox.thrown(definition)):
                self.thrown.append((kind, name, event.payload, event.correlations))

    def _save_case(self, status: str | None) -> None:
        if status is None and self.uncaught is not None:
            status = "failed"  # BPMN: an error no boundary or event subprocess catches ends the case
            self.event("case_failed", error=self.uncaught.name or None,
                       error_code=self.uncaught.code or None, bpmn_id=self.failed_at)
        elif status is None and self.workflow.completed:
            status = "completed"
            self.event("case_completed")
        case_id = self.case.id
        self.tx.expect_rows(SAVE_CASE, {
            "id": case_id, "version": self.case.row_version,
            "state": state.dump(self.workflow, compress=status is not None),
            "new_version": self.case.row_version + 1, "status": status or self.case.status,
            "ended_at": self.tx.time(self.now) if status else None, "serializer": state.SERIALIZER_VERSION},
            1, lambda: ConflictError("conflict.case_changed", case=str(case_id)))
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


def load(tx: Tx, engine: Any, case: CaseRef, actor_id: int | None, now: datetime) -> Run:
    """The case's workflow: the live one if this worker holds the current version, else from its row."""
    parsed = engine.specs.get(case.process_version_id)
    workflow = engine.live.take(case.id, case.row_version)
    if workflow is None:
        blob, version = tx.first(CASE_STATE, {"id": case.id})
        workflow = state.load(bytes(blob), version, parsed.spec, parsed.subprocess_specs,
                              engine.script_engine)
    return Run(tx, case, parsed, workflow, actor_id, now, engine.breaks.is_off(case.unit_id),
               engine.deadlines, engine.bounds, engine.config)


def new_case(engine: Any, tx: Tx, process_key: str, pupil_id: int | None, unit_id: int | None,
              by: int | None, data: dict[str, Any], now: datetime, parent: CaseRef | None) -> Run:
    """Insert a new case of the routine's newest version for a pupil (or a school unit) and return its
    first step, begun, not yet run: what a start does before the workflow runs."""
    # the reads, the starter's roles too, go in one round trip on PostgreSQL (the unit is the one given,
    # else the pupil's)
    starter = access.roles_at_start(tx, by, unit_id, pupil_id) if by is not None else None
    version, pupil_row, unit_row = tx.firsts(
        (LATEST_VERSION, {"key": process_key}), (PUPIL_UNIT, {"id": pupil_id}),
        (UNIT_EXISTS, {"id": unit_id, "pupil_id": pupil_id}))
    if version is None:
        raise NotFoundError(f"no routine {process_key!r} is deployed")
    version_id, version_number = version
    parsed = engine.specs.get(version_id)
    if parsed.unit_level:
        if pupil_id is not None:
            raise CaseSubjectError(f"{process_key!r} is a routine of the school unit: its cases have no "
                                   "pupil; start it for a unit, without a pupil")
        if unit_id is None:
            raise CaseSubjectError(f"{process_key!r} is a routine of the school unit: say which unit")
        if "elev_id" in data:
            raise CaseSubjectError(f"{process_key!r} is a routine of the school unit: its data names no "
                                   "pupil")
    else:
        if pupil_id is None:
            raise CaseSubjectError(f"{process_key!r} is a routine for a pupil: say which pupil")
        if pupil_row is None:
            raise NotFoundError(f"pupil {pupil_id} does not exist")
        unit_id = unit_id or pupil_row[0]
    if unit_row is None:
        raise NotFoundError(f"school unit {unit_id} does not exist")
    held = (access.require_role_at_unit(tx, by, unit_id, "start a case", roles=access.CASE_ROLES,
                                        ahead=starter) if by is not None else set())
    try:
        workflow = Workflow(parsed.spec, parsed.subprocess_specs, script_engine=engine.script_engine)
    except RecursionError as exc:  # refused at deploy since; a version deployed before may still have it
        raise bounds.too_deep(process_key) from exc
    parent_id = parent.id if parent else None
    case_id, diary_number = diary.register(tx, {
        "version_id": version_id, "key": process_key, "pupil_id": pupil_id, "unit_id": unit_id,
        "parent_id": parent_id, "by": by, "now": tx.time(now), "serializer": state.SERIALIZER_VERSION,
        "state": b"{}"}, now)
    known = {"arende_id": case_id, "skolenhet_id": unit_id, "startad_av": by,
             "startad_av_roller": sorted(held), "startad_fran": parent.process_key if parent else None}
    if pupil_id is not None:  # a unit-level case's data has no pupil key at all
        known["elev_id"] = pupil_id
    workflow.data.update({**data, **known})
    workflow.task_tree.data.update(workflow.data)
    case = CaseRef(case_id, version_id, process_key, pupil_id, unit_id, "running", 0)
    run = Run(tx, case, parsed, workflow, by, now, engine.breaks.is_off(unit_id), engine.deadlines,
              engine.bounds, engine.config)
    run.event("case_started", key=process_key, version=version_number, parent_case_id=parent_id,
              diary_number=diary_number)
    run.begin()
    return run


def start_linked(engine: Any, run: Run) -> None:
    """Start the cases a step asked for with an `elevflow.start.<routine>` message, linked to it (for the
    same pupil; a unit-level case can only start another unit-level one), in the step's transaction."""
    for key, pupil_id in run.spawned:
        child = new_case(engine, run.tx, key, pupil_id, run.case.unit_id, None, {}, run.now, parent=run.case)
        child.advance()
        child.finish()
        start_linked(engine, child)
        audit.append(run.tx, [audit.Event("case_linked", run.actor_id, run.case.id, pupil_id,
                                            run.case.unit_id, {"child_case_id": child.case.id, "key": key})],
                     run.now)


class Step:
    """One state change of a case inside `step`: the transaction, the run the body loaded or opened, and
    how the step ends (`completed`: the human tasks it completed, whose rows the body wrote; `ending`: a
    status it ends the case with other than by reaching the end, ``cancelled``)."""

    def __init__(self, engine: Any, tx: Tx, kind: str, actor_id: int | None, now: datetime):
        self.engine, self.tx, self.kind, self.actor_id, self.now = engine, tx, kind, actor_id, now
        self.run: Run | None = None
        self.completed: set[UUID] = set()
        self.ending: str | None = None
        self.saved = False

    def lock(self, case_id: int) -> CaseRef | None:
        """Lock the case row, the step's first lock (None: no such case)."""
        return lock_case(self.tx, case_id)

    def load(self, case: CaseRef) -> Run:
        """The locked case's workflow for this step (the live one, or its stored state), begun."""
        self.run = load(self.tx, self.engine, case, self.actor_id, self.now)
        self.run.begin()
        return self.run

    def open(self, process_key: str, pupil_id: int | None, unit_id: int | None,
             data: dict[str, Any]) -> Run:
        """A new case (`new_case`), run to its first wait."""
        self.run = new_case(self.engine, self.tx, process_key, pupil_id, unit_id, self.actor_id, data,
                             self.now, parent=None)
        self.run.advance()
        return self.run

    def routine(self) -> AbstractContextManager[None]:
        """Around the body's code that runs the routine: a failure in it is the case's (`KINDS`)."""
        if self.run is None or not KINDS[self.kind]:
            return nullcontext()
        return failures.routine_step(self.run.case.id)

    def discard(self) -> None:
        """Save nothing after all (a case judged again under its lock may no longer move)."""
        if self.run is not None:
            self.engine.live.drop(self.run.case.id)
        self.run = None

    def _save(self) -> None:
        """Save the run (case state, task rows, timers, linked cases, audit events last) and have its
        workflow kept once the transaction it runs in commits."""
        if self.run is None:
            return
        self.tx.send_together()  # PostgreSQL: the writes from here on go in two round trips, with the commit
        with self.routine():
            self.run.finish(self.completed, self.ending)
            start_linked(self.engine, self.run)
        self.saved = True
        self.tx.after_commit(self._keep)

    def _keep(self) -> None:
        """After the commit: keep the workflow for the case's next step, unless the case ended."""
        run = self.run
        assert run is not None
        if run.case.status == "running":
            self.engine.live.put(run.case.id, run.case.row_version, run.workflow)
        self.engine.db.stats.steps[self.kind] += 1

    def _undone(self, exc: BaseException, inside: Tx | None) -> None:
        """After the rollback: no cached workflow of the case is left, and a routine's failure is recorded
        on its case (in the caller's transaction when the step ran inside one, else in one of its own)."""
        if self.run is not None:
            self.engine.live.drop(self.run.case.id)
        case_id = failures.failed_case(exc)
        if case_id is None:
            return
        if inside is not None:
            failures.record(inside, case_id, exc, self.actor_id, self.now)
        else:
            failures.record_failure(self.engine, exc, self.actor_id)


@contextmanager
def step(engine: Any, kind: str, actor_id: int | None, now: datetime | None = None, *,
         inside: Tx | None = None) -> Iterator[Step]:
    """The one step protocol, which every state change of a case runs in (`kind`: one of `KINDS`):

        with runner.step(db, "cancel", by) as step:
            case = step.lock(case_id)  # then the caller's checks
            run = step.load(case)
            run.workflow.cancel()

    1. Begin a transaction (SQLite: BEGIN IMMEDIATE) - or, `inside` the caller's (the timer claim's), a
       savepoint of it.
    2. The body locks the case (`Step.lock`; a completion locks case and task in its one statement), checks,
       loads (`Step.load`) or opens (`Step.open`) the case, and runs it; `Step.routine` around the
       routine's own code. A body that loads nothing changes no case (its own writes still commit).
    3. On leaving the body: finish the run - case state under its `row_version` (ConflictError if someone
       saved in between), task rows, timer rows, the linked cases it starts, the audit events last.
    4. Commit; then keep the workflow in the live cache (an ended case's is not kept) and count the step in
       `db.stats.steps` by kind. Within a caller's transaction, both wait for that transaction's commit.
    5. On any error: roll back (to the savepoint), drop the case's cached workflow, record a routine's
       failure on its case (failures.py) after the rollback, and raise the error.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of step {kind!r}; known: {', '.join(KINDS)}")
    now = now or engine.clock()
    current: Step | None = None
    started = time.perf_counter()
    try:
        with _transaction(engine, inside) as tx:
            webhooks.read_ahead(tx)
            current = Step(engine, tx, kind, actor_id, now)
            yield current
            current._save()
    except BaseException as exc:
        if current is not None:
            current._undone(exc, inside)
        raise
    health.observe_step(kind, time.perf_counter() - started)


@contextmanager
def _transaction(engine: Any, inside: Tx | None) -> Iterator[Tx]:
    if inside is None:
        with engine.db.transaction(together=True) as tx:
            yield tx
    else:
        with inside.savepoint():
            yield inside


def data_digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
