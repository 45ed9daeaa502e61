"""The audit log: append-only, one event per step, hash-chained so tampering shows.

Each event's hash is sha256(previous hash || canonical JSON of the event, sequence number included).
The newest link is also kept in `audit_head`, which every appender locks, so appends are serialised
across workers and hosts, sequence numbers have no gaps, and a deleted tail no longer matches the head.

Events record who did what to which case, pupil and unit, and when — and, for form data, which fields
changed with a digest of the values: the values themselves live in the case, which retention may cull;
the log must outlive that without holding confidential content.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from .dbapi import Sql, Tx
from .models import AuditEvent, AuditHead

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

GENESIS = bytes(32)

KINDS = {
    "definition_deployed", "case_started", "case_completed", "case_cancelled", "task_created",
    "task_assigned", "task_completed", "task_cancelled", "gateway_taken", "timer_fired",
    "decision_signed", "case_linked", "task_released", "delegation_granted", "delegation_revoked",
    "deadline_reminder", "deadline_escalated", "organisation_imported", "medical_released",
    "case_migrated", "message_received", "password_set", "password_cleared", "assignee_refused",
    "step_failed", "attachment_added", "attachment_removed", "script_ran", "message_sent", "case_failed",
    "message_thrown", "signal_thrown",
}


@dataclass(frozen=True)
class Event:
    """One thing that happened, as web, CLI and scheduler all report it."""

    kind: str
    actor_id: int | None
    case_id: int | None = None
    pupil_id: int | None = None
    unit_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _after_seq(at: datetime, event: Event | AuditEvent) -> bytes:
    """The event's canonical JSON, `[seq, at, kind, actor, case, pupil, unit, data]` with sorted keys,
    from just after its sequence number on: what is hashed is ``[`` + seq + ``,`` + this."""
    return orjson.dumps([at.isoformat(timespec="microseconds"), event.kind, event.actor_id, event.case_id,
                         event.pupil_id, event.unit_id, event.data], option=orjson.OPT_SORT_KEYS)[1:]


def _digest(prev: bytes, seq: int, at: datetime, event: Event | AuditEvent) -> bytes:
    return hashlib.sha256(prev + b"[%d," % seq + _after_seq(at, event)).digest()


LOCK_HEAD = {"sqlite": Sql("SELECT seq, hash FROM audit_head WHERE id = 1"),
             "postgresql": Sql("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")}
INSERT_EVENT = Sql("""INSERT INTO audit_events (seq, at, kind, actor_id, case_id, pupil_id, unit_id, data,
    prev_hash, hash) VALUES (:seq, :at, :kind, :actor_id, :case_id, :pupil_id, :unit_id, :data, :prev_hash,
    :hash)""")
MOVE_HEAD = Sql("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1")
# PostgreSQL: the whole append in one statement, hashed by the database exactly as `_digest` hashes (its
# sha256 of the previous hash, "[", the sequence number, "," and `_after_seq`), so it needs no round trip
# of its own: it goes with the step's other writes and its COMMIT (dbapi.Tx.send_together), and holds the
# audit head's lock from the last statement of the transaction to its commit.
APPEND = Sql("""WITH RECURSIVE head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
    events AS (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:actors AS integer[]),
        CAST(:cases AS integer[]), CAST(:pupils AS integer[]), CAST(:units AS integer[]),
        CAST(:datas AS text[]), CAST(:rests AS bytea[]))
        WITH ORDINALITY AS e(kind, actor_id, case_id, pupil_id, unit_id, data, rest, n)),
    chain AS (SELECT e.n, head.seq + 1 AS seq, head.hash AS prev_hash,
            sha256(head.hash || convert_to('[' || (head.seq + 1) || ',', 'UTF8') || e.rest) AS hash
        FROM head JOIN events e ON e.n = 1
        UNION ALL
        SELECT e.n, c.seq + 1, c.hash,
            sha256(c.hash || convert_to('[' || (c.seq + 1) || ',', 'UTF8') || e.rest)
        FROM chain c JOIN events e ON e.n = c.n + 1),
    written AS (INSERT INTO audit_events (seq, at, kind, actor_id, case_id, pupil_id, unit_id, data,
            prev_hash, hash)
        SELECT c.seq, :at, e.kind, e.actor_id, e.case_id, e.pupil_id, e.unit_id, CAST(e.data AS json),
            c.prev_hash, c.hash
        FROM chain c JOIN events e ON e.n = c.n)
    UPDATE audit_head SET seq = last.seq, hash = last.hash
    FROM (SELECT seq, hash FROM chain ORDER BY n DESC LIMIT 1) AS last WHERE audit_head.id = 1""")


def append(tx: Tx, events: list[Event], at: datetime) -> None:
    """Append events to the chain inside the caller's transaction. Call it last, just before the
    commit: the head stays locked until then, which is what serialises appenders."""
    if not events:
        return
    for event in events:
        if event.kind not in KINDS:
            raise ValueError(f"unknown audit event kind {event.kind!r}")
    if not tx.sqlite:
        tx.write(APPEND, {
            "at": tx.time(at), "kinds": [e.kind for e in events], "actors": [e.actor_id for e in events],
            "cases": [e.case_id for e in events], "pupils": [e.pupil_id for e in events],
            "units": [e.unit_id for e in events], "datas": [tx.json(e.data) for e in events],
            "rests": [_after_seq(at, e) for e in events]})
        return
    seq, prev = tx.first(LOCK_HEAD[tx.dialect])
    prev = bytes(prev)
    rows = []
    stamp = tx.time(at)
    for event in events:
        seq += 1
        digest = _digest(prev, seq, at, event)
        rows.append({"seq": seq, "at": stamp, "kind": event.kind, "actor_id": event.actor_id,
                     "case_id": event.case_id, "pupil_id": event.pupil_id, "unit_id": event.unit_id,
                     "data": tx.json(event.data), "prev_hash": prev, "hash": digest})
        prev = digest
    tx.executemany(INSERT_EVENT, rows)
    tx.write(MOVE_HEAD, {"seq": seq, "hash": prev})


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Head:
    """The newest link of the chain: its sequence number and hash. Written down outside the database
    (`elevflow audit head`), it lets `verify` tell a chain that lost or rewrote events after it."""

    seq: int
    hash: bytes

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash.hex()}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, _, digest = text.strip().partition(":")
        try:
            head = cls(int(seq), bytes.fromhex(digest))
        except ValueError:
            head = None
        if head is None or head.seq < 0 or len(head.hash) != 32 or not seq.isdigit():
            raise ValueError(f"{text.strip()[:80]!r} is not an audit head: SEQ:HASH, as `elevflow audit "
                             "head` prints it (a number, a colon and 64 hexadecimal digits)")
        return head


def head(engine: Engine) -> Head:
    """The chain's newest link, as its head row holds it."""
    with engine.db.read() as session:
        row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    return Head(row.seq, bytes(row.hash))


def verify(engine: Engine, batch: int = 5000, expect: Head | None = None) -> Verdict:
    """Walk the whole chain; name the first event that was edited, inserted or deleted.

    With `expect`, a head written down earlier, the chain must also still hold that very event: a chain
    that ends before it (an older backup restored, or the newest events deleted together with the head)
    or holds another event in its place (rewritten from there or before) is broken too — which the
    chain alone, being consistent, cannot show.
    """
    expected_seq, prev, checked = 1, GENESIS, 0
    anchored = GENESIS if expect is not None and expect.seq == 0 else None
    with engine.db.read() as session:
        for row in _rows(session, batch):
            if row.seq != expected_seq:
                return Verdict(False, checked, expected_seq if row.seq > expected_seq else row.seq,
                               f"event {expected_seq} is missing (next is {row.seq})"
                               if row.seq > expected_seq else f"event {row.seq} is out of order")
            if row.prev_hash != prev:
                return Verdict(False, checked, row.seq, "its link to the event before it is broken")
            if _digest(prev, row.seq, row.at, row) != row.hash:
                return Verdict(False, checked, row.seq, "its content does not match its hash (edited)")
            if expect is not None and row.seq == expect.seq:
                anchored = bytes(row.hash)
            prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
        stored = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    if stored.seq != checked or stored.hash != prev:
        return Verdict(False, checked, checked + 1 if stored.seq > checked else stored.seq,
                       f"the chain ends at event {checked} but its head says {stored.seq}: "
                       "events were deleted from the end" if stored.seq > checked else
                       "the head does not match the last event")
    if expect is not None and anchored is None:
        return Verdict(False, checked, checked + 1,
                       f"the chain ends at event {checked}, but the expected head is event {expect.seq}: "
                       f"events {checked + 1} to {expect.seq} (and any after) are missing — an older backup "
                       "was restored, or the newest events were deleted together with the head")
    if expect is not None and anchored != expect.hash:
        return Verdict(False, checked, expect.seq,
                       f"event {expect.seq} is not the expected one (its hash differs): the chain was "
                       "rewritten at or before it, or another backup's events followed a restore")
    return Verdict(True, checked)


def _rows(session: Session, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.seq > last)
                               .order_by(AuditEvent.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def events(engine: Engine, *, case_id: int | None = None, limit: int = 1000) -> list[AuditEvent]:
    """Events in order, optionally of one case."""
    with engine.db.read() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq).limit(limit)
        if case_id is not None:
            query = query.where(AuditEvent.case_id == case_id)
        return list(session.scalars(query))

