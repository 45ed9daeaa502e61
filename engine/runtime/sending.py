"""What a send task does in Elevflow: it tells the people of its lane, at the case's school unit.

BPMN leaves a send task's channel to the engine. Elevflow has one channel that may carry a case's news:
its own notification list. A send task ("Skicka påminnelse") therefore writes an in-app notice to every
active holder of its lane's role at the case's unit, and an e-mail through the outbox (mailer.py) that
says only that a case has news for them and links to Elevflow — never the pupil, the case's data or
even the step's name, which e-mail may not carry (OSL 23:2). The step's audit event `message_sent`
names the send task and whom it told. A send task outside a lane is refused at deploy (it would tell
nobody). A send task that names a message (`messageRef`) is BPMN's message throw instead: it goes to
another case through the outbox (outbox.py, crosscase.py), or `elevflow.start.<routine>` starts a linked
case; it tells no lane.
It runs inside the step's transaction, so the notice exists exactly when the step committed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.task import Task

from ..org.roles import role_for_lane
from ..work.notify import notify_role

if TYPE_CHECKING:  # for type hints only
    from .runner import Run


def names_message(spec: Any) -> bool:
    """Whether a send task names a message (`messageRef`): then it throws that message to other cases
    (outbox.py, crosscase.py) rather than telling its lane."""
    return isinstance(getattr(spec, "event_definition", None), MessageEventDefinition)


def send(run: Run, task: Task) -> None:
    """Carry out a send task the step completed: notices to its lane at the unit, and an audit event."""
    spec = task.task_spec
    role = role_for_lane(getattr(spec, "lane", None))
    told: list[int] = []
    if role is not None and run.config is not None:
        told = notify_role(run.tx, run.case.unit_id, {role}, "case_message", case_id=run.case.id,
                           task_id=None, now=run.now, config=run.config)
    run.event("message_sent", bpmn_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id, role=role,
              recipients=told)
