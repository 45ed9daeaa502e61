"""Messages and signals between cases, durable through an outbox.

A case that throws a message or a signal nothing in it catches (an intermediate or end event, a send task
naming a message) writes one `case_events` row in the very step that threw it (outbox.py, called from
runner.Run.finish): a crash before the commit loses the step and the row together, never one of them.
The scheduler then delivers the rows (`deliver_pending`), each delivery one step of the receiving case
(runner.step, kind "message") in the transaction that marks the row delivered — so a message is neither
lost nor delivered twice.

Who receives (only running cases of the same organiser, whose routine waits for that name now):
- a message: the first waiting case (oldest first) about the same pupil - or, for a unit-level case, at
  the same school unit - whose waiting catch event's correlation keys (BPMN correlation properties: each
  property's retrieval expression, evaluated on the message's payload for the sender and on the waiting
  task's data for the receiver) give the same values. One message, one receiver.
  When no case waits for it, it starts a case of every routine whose process starts with that message
  (a message start event), for the same pupil (or unit), as the system.
- a signal: every such case waiting for it, about any pupil of the organiser (a broadcast).
A message nobody waits for is kept `outbox.KEPT` (30 days), tried again each round (a case may come to
wait for it), and listed for the process owner (`pending`); then it expires (`outcome` "expired"). A signal
nobody waits for is gone, as BPMN says. Each delivery is audited on the receiving case
(`message_received`, with the sending case).

Locks: `settle` locks the outbox row first (FOR UPDATE SKIP LOCKED on PostgreSQL, so two schedulers take
different rows), then each receiver's case row in its step, the audit head last. No step ever locks an
outbox row (a thrower only inserts one), so this order cannot meet runner.py's in reverse.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from sqlalchemy import select

from ..storage.dbapi import Sql
from ..storage.models import CaseEvent
from . import runner

if TYPE_CHECKING:  # for type hints only
    from ..core import Engine

log = logging.getLogger(__name__)

PENDING = Sql("SELECT id FROM case_events WHERE delivered_at IS NULL ORDER BY id LIMIT :limit")
_CLAIM = "SELECT id FROM case_events WHERE id = :id AND delivered_at IS NULL"
CLAIM = {"sqlite": Sql(_CLAIM), "postgresql": Sql(_CLAIM + " FOR UPDATE SKIP LOCKED")}
ROW = Sql("""SELECT kind, name, sender_case_id, organiser_id, unit_id, pupil_id, correlations, payload,
    keep_until, created_at FROM case_events WHERE id = :id""")
_SAME_ORGANISER = "c.status = 'running' AND (u.organiser_id = :organiser OR c.unit_id = :unit)"
RUNNING_VERSIONS = Sql(f"""SELECT DISTINCT c.process_version_id FROM cases c
    JOIN school_units u ON u.id = c.unit_id WHERE {_SAME_ORGANISER}""")
# a message's receivers are about the same pupil (a unit-level message: at the same unit, with no pupil)
_OF_VERSION = f"""SELECT c.id FROM cases c JOIN school_units u ON u.id = c.unit_id
    WHERE {_SAME_ORGANISER} AND c.process_version_id = :version AND c.id <> :sender"""
CANDIDATES = {"signal": Sql(_OF_VERSION),
              "pupil": Sql(_OF_VERSION + " AND c.pupil_id = :pupil"),
              "unit": Sql(_OF_VERSION + " AND c.pupil_id IS NULL AND c.unit_id = :unit")}
NEWEST_VERSIONS = Sql("""SELECT v.id, v.key FROM process_versions v WHERE v.version =
    (SELECT MAX(w.version) FROM process_versions w WHERE w.key = v.key) ORDER BY v.key""")
DONE = Sql("""UPDATE case_events SET delivered_at = :now, outcome = :outcome, receivers = :receivers
    WHERE id = :id""")


def _catchers(workflow: Any, kind: str, name: str) -> list[tuple[Any, Any]]:
    """(waiting task, its definition) for each event of `kind` named `name` the workflow waits for."""
    wanted = SignalEventDefinition if kind == "signal" else MessageEventDefinition
    found = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        inner = (definition.event_definitions if isinstance(definition, MultipleEventDefinition)
                 else [definition])
        for one in inner:
            if isinstance(one, wanted) and one.name == name:
                found.append((task, one))
    return found


@functools.lru_cache(maxsize=4096)
def _catches(version_id: int, specs: Any, kind: str, name: str) -> bool:
    return _waits_for_uncached(specs, version_id, kind, name)


def _waits_for(engine: Engine, version_id: int, kind: str, name: str) -> bool:
    """Whether a routine version has any catch event for the name (from its parsed spec; versions are
    immutable, so the answer is remembered)."""
    return _catches(version_id, engine.specs, kind, name)


def _waits_for_uncached(specs: Any, version_id: int, kind: str, name: str) -> bool:
    wanted = SignalEventDefinition if kind == "signal" else MessageEventDefinition
    parsed = specs.get(version_id)
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            inner = (definition.event_definitions if isinstance(definition, MultipleEventDefinition)
                     else [definition])
            if any(isinstance(d, wanted) and d.name == name for d in inner):
                return True
    return False


def _correlated(workflow: Any, task: Any, definition: Any, correlations: dict[str, Any]) -> bool:
    """Whether the waiting task's correlation keys (its definition's properties evaluated on its data)
    give the values the message carries; a message without correlation keys is correlated by subject."""
    if not correlations or not getattr(definition, "correlation_properties", None):
        return True
    mine = definition.calculate_correlations(workflow.script_engine, definition.correlation_properties,
                                             task.data)
    return all(mine.get(key) == value for key, value in correlations.items())


def _deliver_to(engine: Engine, tx: Any, case_id: int, row: dict[str, Any], now: datetime) -> bool:
    """One receiving case's step: hand it the message or signal if it waits for it now."""
    with runner.step(engine, "message", None, now, inside=tx) as step:
        case = step.lock(case_id)
        if case is None or case.status != "running":
            return False
        run = step.load(case)
        matches = [(t, d) for t, d in _catchers(run.workflow, row["kind"], row["name"])
                   if row["kind"] == "signal" or _correlated(run.workflow, t, d, row["correlations"])]
        if not matches:
            step.discard()
            return False
        with step.routine():
            definition = matches[0][1]
            run.workflow.send_event(BpmnEvent(definition, payload=row["payload"] or {},
                                              correlations=row["correlations"] or {}))
            run.event("message_received", name=row["name"], what=row["kind"],
                      from_case_id=row["sender"])
            run.advance()
        return True


def _message_start(engine: Engine, version_id: int, name: str) -> Any:
    """The message start event definition of a routine version's process for the name, if it has one."""
    for start in engine.specs.get(version_id).spec.start.outputs:
        definition = getattr(start, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition
    return None


def _start_cases(engine: Engine, tx: Any, row: dict[str, Any], pupil: int | None, unit: int,
                 now: datetime) -> list[int]:
    """Start a case of each routine (its newest version) whose process starts with the message: for the
    sender's pupil (or, for a unit-level routine, its unit). Each is a step of its own in the transaction."""
    started = []
    for version_id, key in tx.all(NEWEST_VERSIONS, {}):
        definition = _message_start(engine, version_id, row["name"])
        if definition is None or engine.specs.get(version_id).unit_level != (pupil is None):
            continue
        try:
            with runner.step(engine, "start", None, now, inside=tx) as step:
                run = step.open(key, pupil, unit if pupil is None else None, {})
                run.workflow.send_event(BpmnEvent(definition, payload=row["payload"] or {},
                                                  correlations=row["correlations"] or {}))
                run.event("message_received", name=row["name"], what="message", from_case_id=row["sender"])
                run.advance()
        except Exception:  # noqa: BLE001 - a routine that cannot start must not keep the message from others
            log.exception("a message %r could not start a case of %s", row["name"], key)
            continue
        started.append(run.case.id)
    return started


def settle(engine: Engine, event_id: int, now: datetime) -> bool:
    """Deliver (or expire) one pending row, in one transaction with the receivers' steps; return whether
    it was settled (False: kept for a case that comes to wait for it, or another scheduler has it)."""
    with engine.db.transaction() as tx:
        if tx.scalar(CLAIM[tx.dialect], {"id": event_id}) is None:
            return False
        kind, name, sender, organiser, unit, pupil, correlations, payload, keep_until, _ = tx.first(
            ROW, {"id": event_id})
        row = {"kind": kind, "name": name, "sender": sender, "correlations": tx.read_json(correlations) or {},
               "payload": tx.read_json(payload) or {}}
        receivers = []
        where = {"organiser": organiser, "unit": unit}
        versions = [v for (v,) in tx.all(RUNNING_VERSIONS, where) if _waits_for(engine, v, kind, name)]
        which = "signal" if kind == "signal" else "pupil" if pupil is not None else "unit"
        candidates = sorted(case_id for version in versions for (case_id,) in tx.all(
            CANDIDATES[which], {**where, "version": version, "sender": sender, "pupil": pupil}))
        for case_id in candidates:  # oldest first
            try:
                delivered = _deliver_to(engine, tx, case_id, row, now)
            except Exception:  # noqa: BLE001 - a broken receiver must not keep the message from the rest
                log.exception("case event %s could not be delivered to case %s", event_id, case_id)
                continue
            if delivered:
                receivers.append(case_id)
                if kind == "message":
                    break
        outcome = "delivered" if kind == "message" else "broadcast"
        if kind == "message" and not receivers:
            receivers, outcome = _start_cases(engine, tx, row, pupil, unit, now), "started"
        if receivers or kind == "signal":
            tx.execute(DONE, {"id": event_id, "now": tx.time(now), "receivers": tx.json(receivers),
                              "outcome": outcome})
        elif tx.required_time(keep_until) <= now:
            tx.execute(DONE, {"id": event_id, "now": tx.time(now), "receivers": tx.json([]),
                              "outcome": "expired"})
        else:
            return False  # kept for a case that comes to wait for it; tried again next round
    return True


def deliver_pending(engine: Engine, now: datetime | None = None, limit: int = 500) -> int:
    """Deliver what can be delivered now, oldest first; return how many rows were settled."""
    now = now or engine.clock()
    with engine.db.transaction() as tx:
        ids = [i for (i,) in tx.all(PENDING, {"limit": limit})]
    return sum(settle(engine, event_id, now) for event_id in ids)


def pending(engine: Engine, organiser_id: int | None = None) -> list[CaseEvent]:
    """The messages still waiting for a receiver, and those that expired without one, oldest first: what
    a process owner checks when a routine's message seems to go nowhere."""
    with engine.db.read() as session:
        query = select(CaseEvent).where(CaseEvent.kind == "message").where(
            (CaseEvent.delivered_at.is_(None)) | (CaseEvent.outcome == "expired")).order_by(CaseEvent.id)
        if organiser_id is not None:
            query = query.where(CaseEvent.organiser_id == organiser_id)
        return list(session.scalars(query))
