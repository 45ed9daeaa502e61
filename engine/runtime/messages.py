"""Messages from outside a case: a receive task or message catch event waits for a named message (for
example "the document came"), and a person at the pupil's school unit records that it arrived. That is
one step, like completing a task: the case runs on to its next wait, all in one transaction, audited.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.task import TaskState

from .. import codes
from ..errors import ConflictError, NotFoundError
from ..org import access
from ..storage import state
from . import cases, runner

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine


def _waiting(workflow: object) -> dict[str, MessageEventDefinition]:
    """The messages the case waits for, by name (with the definition that catches each)."""
    found = {}
    for task in runner.all_tasks(workflow):  # type: ignore[arg-type]
        definition = getattr(task.task_spec, "event_definition", None)
        if task.state != TaskState.WAITING:
            continue
        # an event-based gateway waits for each of its branches' events at once
        for one in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(one, MessageEventDefinition):
                found[one.name] = one
    return found


def waiting_messages(engine: Engine, case_id: int) -> list[str]:
    """The names of the messages a running case waits for (none for an ended case)."""
    case = cases.get_case(engine, case_id)
    if case.status != "running":
        return []
    parsed = engine.specs.get(case.process_version_id)
    workflow = state.load(case.state, case.serializer_version, parsed.spec, parsed.subprocess_specs,
                          engine.script_engine)
    return sorted(_waiting(workflow))


def deliver(engine: Engine, case_id: int, name: str, *, by: int | None) -> str:
    """Record that message `name` arrived for a case; return the case's status afterwards.

    1. Lock the case row; refuse a user with no role at the case's unit, and an ended case.
    2. Refuse (ConflictError, naming what it waits for) a message the case is not waiting for.
    3. Hand the message to SpiffWorkflow, run on, and save the step (runner.step) with its task rows,
       timer rows and a `message_received` audit event. A routine's failure is recorded on the case.
    """
    with runner.step(engine, "message", by) as step:
        case = step.lock(case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        if by is not None:
            access.require_role_at_unit(step.tx, by, case.unit_id, "record a message")
        if case.status != "running":
            raise ConflictError("conflict.case_status", case=str(case_id), status=codes.state(case.status))
        run = step.load(case)
        waiting = _waiting(run.workflow)
        if name not in waiting:
            expected = sorted(waiting) or codes.Coded("what.no_message")
            raise ConflictError("conflict.not_waiting", case=str(case_id), message=name, waiting=expected)
        with step.routine():
            run.workflow.send_event(BpmnEvent(waiting[name], payload={}))
            run.event("message_received", name=name)
            run.advance()
    return run.case.status
