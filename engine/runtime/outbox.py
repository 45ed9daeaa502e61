"""The outbox of messages and signals a case throws for other cases: written in the thrower's step.

A thrown message or signal that nothing in its own case caught becomes one `case_events` row in the same
transaction as the step that threw it (runner.Run.finish calls `record`), audited on the sender
(`message_thrown`, `signal_thrown`). crosscase.py delivers the rows.
"""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

from ..storage.dbapi import Sql

if TYPE_CHECKING:  # for type hints only
    from .runner import Run

#: How long a message nobody waits for is kept (and tried again) before it expires.
KEPT = timedelta(days=30)

ORGANISER = Sql("SELECT organiser_id FROM school_units WHERE id = :id")
INSERT = Sql("""INSERT INTO case_events (kind, name, sender_case_id, organiser_id, unit_id, pupil_id,
    correlations, payload, created_at, keep_until) VALUES (:kind, :name, :sender, :organiser, :unit, :pupil,
    :correlations, :payload, :now, :keep_until)""")


def thrown(definition: Any) -> str | None:
    """The kind of outbox row an event a case threw (and did not catch itself) makes, if any."""
    if isinstance(definition, SignalEventDefinition):
        return "signal"
    if isinstance(definition, MessageEventDefinition):
        return "message"
    return None


def record(run: Run) -> None:
    """Write the outbox rows of the messages and signals the step threw for other cases (in its step)."""
    if not run.thrown:
        return
    organiser = run.tx.scalar(ORGANISER, {"id": run.case.unit_id})
    run.tx.executemany(INSERT, [{
        "kind": kind, "name": name, "sender": run.case.id, "organiser": organiser, "unit": run.case.unit_id,
        "pupil": run.case.pupil_id, "correlations": run.tx.json(correlations or {}),
        "payload": run.tx.json(payload or {}), "now": run.tx.time(run.now),
        "keep_until": run.tx.time(run.now + KEPT)} for kind, name, payload, correlations in run.thrown])
    for kind, name, _, _ in run.thrown:
        run.event("message_thrown" if kind == "message" else "signal_thrown", name=name)


