"""What a send task does in Elevflow: it tells the people of its lane, at the case's school unit.

BPMN leaves a send task's channel to the engine. Elevflow has one channel that may carry a case's news:
its own notification list. A send task ("Skicka påminnelse") therefore writes an in-app notice to every
active holder of its lane's role at the case's unit, and an e-mail through the outbox (mailer.py) that
says only that a case has news for them and links to Elevflow — never the pupil, the case's data or
even the step's name, which e-mail may not carry (OSL 23:2). The step's audit event `message_sent`
names the send task and whom it told. A send task outside a lane is refused at deploy (it would tell
nobody); a send task that names a message for another case is refused too (support.py), except
`elevflow.start.<routine>`, which starts a linked case.
It runs inside the step's transaction, so the notice exists exactly when the step committed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from SpiffWorkflow.task import Task

from ..org.roles import role_for_lane
from ..work.notify import notify_role

if TYPE_CHECKING:  # for type hints only
    from .runner import Run


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
