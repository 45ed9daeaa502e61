"""Outgoing webhooks, received by a real HTTP server: every event of a särskilt stöd case exactly once and
in order, signed; also when the receiver is down for a while (retried with backoff, nothing later sent
before it); and nothing lost when the process dies between the step and the delivery (the outbox)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import routine_scenarios as rs
from sqlalchemy import select
from test_routines import build_school, routines_for, walk

from elevflow.engine.storage import audit
from elevflow.engine.storage.models import WebhookDelivery
from elevflow.engine.work import webhooks

LATER = datetime(2031, 1, 1, tzinfo=timezone.utc)  # past every event the walks write (they run in 2026)
#: a särskilt stöd case with a signed decision, its appeal window's timer and a linked case
SCENARIO = next(
    s
    for s in rs.SCENARIOS
    if s.routine == "sarskilt_stod"
    and any("beslut" in p for p in s.path)
    and any(p.startswith("timer:") for p in s.path)
)


class Receiver:
    """A webhook receiver on a local port: keeps what it accepted (signature checked), and can be down
    (not listening at all) for a while."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.deliveries: list[str] = []
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["Elevflow-Timestamp"]
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
                    ).hexdigest()
                )
                if not hmac.compare_digest(expected, self.headers["Elevflow-Signature"]):
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.append(json.loads(body))
                receiver.deliveries.append(self.headers["Elevflow-Delivery"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/elevflow"


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    if made.server is not None:
        made.down()


def subscribe(engine: Any, receiver: Receiver, **kwargs: Any) -> int:
    subscription, secret = webhooks.subscribe(engine, "mottagare", receiver.url, by=None, **kwargs)
    receiver.secret = secret
    return subscription.id


def deliver_all(engine: Any, now: datetime = LATER) -> int:
    total = 0
    while done := webhooks.deliver_due(engine, now):
        total += done
    return total


def expected_events(engine: Any) -> list[tuple[str, int, str | None]]:
    """What the audit log says happened, of the kinds told to subscribers, in order."""
    return [
        (e.kind, e.case_id, e.data.get("task_id"))
        for e in audit.events(engine, limit=100_000)
        if e.kind in webhooks.EVENTS
    ]


def told(receiver: Receiver) -> list[tuple[str, int, str | None]]:
    return [(b["type"], b["case_id"], b["data"].get("task_id")) for b in receiver.received]


def test_a_receiver_gets_every_event_of_a_sarskilt_stod_case_once_in_order_signed(engine, receiver):
    school = build_school(engine, routines_for(SCENARIO))
    subscribe(engine, receiver)
    walked = walk(engine, school, SCENARIO)
    expected = expected_events(engine)
    assert {kind for kind, *_ in expected} >= {
        "case_started",
        "task_created",
        "task_completed",
        "decision_signed",
        "timer_fired",
        "case_completed",
    }
    assert deliver_all(engine) == len(expected)
    assert told(receiver) == expected
    assert len(set(receiver.deliveries)) == len(expected) and len(
        {b["id"] for b in receiver.received}
    ) == len(expected)
    assert deliver_all(engine) == 0 and len(receiver.received) == len(expected)  # nothing twice
    for body in receiver.received:  # ids only: no pupil, nothing typed into a form
        assert "pupil_id" not in body and set(body["data"]) <= set(webhooks.KEPT)
        assert body["unit_id"] == school.unit and body["process_key"]
    assert walked.case_id in {b["case_id"] for b in receiver.received}


def test_a_receiver_down_for_a_while_gets_everything_in_order_after_retries(engine, receiver):
    school = build_school(engine, routines_for(SCENARIO))
    subscription = subscribe(engine, receiver)
    receiver.down()
    walk(engine, school, SCENARIO)
    expected = expected_events(engine)

    now = LATER
    assert webhooks.deliver_due(engine, now) == 0
    with engine.db.read() as s:
        rows = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [r.attempts for r in rows[:2]] == [1, 0]  # the first failed; nothing later was tried before it
    assert rows[0].last_error and rows[0].next_attempt_at == now + webhooks.backoff(1)
    assert webhooks.deliver_due(engine, now + timedelta(seconds=5)) == 0  # still backing off: not tried
    now += webhooks.backoff(1)
    assert webhooks.deliver_due(engine, now) == 0  # tried again, still down
    assert [s.failing for s in webhooks.subscriptions(engine) if s.id == subscription] == [1]
    with engine.db.read() as s:
        first = s.get(WebhookDelivery, rows[0].id)
    assert first.attempts == 2 and first.next_attempt_at == now + webhooks.backoff(2)
    assert webhooks.backoff(2) == 2 * webhooks.backoff(1) and webhooks.backoff(30).total_seconds() == 3600

    receiver.up()
    assert webhooks.deliver_due(engine, now) == 0  # not before its time
    assert deliver_all(engine, now + webhooks.backoff(2)) == len(expected)
    assert told(receiver) == expected
    [shown] = [s for s in webhooks.subscriptions(engine) if s.id == subscription]
    assert (shown.pending, shown.failing) == (0, 0)


CRASH = """
import os, sys
from elevflow.engine import Engine, start_case
engine = Engine.from_settings(database_url=sys.argv[1])
case = start_case(engine, "stodkedja", pupil_id=int(sys.argv[2]), by=int(sys.argv[3]))
print(case.id, flush=True)
os._exit(9)  # dies right after the step committed: no delivery, no clean shutdown
"""


def test_a_crash_between_the_step_and_its_delivery_loses_no_event(engine, db_url, people, chain, receiver):
    subscribe(engine, receiver)
    run = subprocess.run(
        [sys.executable, "-c", CRASH, db_url, str(people.pupil), str(people.teacher)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 9, run.stderr
    case_id = int(run.stdout.split()[0])
    assert receiver.received == []  # the process died before anything was sent
    assert deliver_all(engine) == 2
    assert [(b["type"], b["case_id"]) for b in receiver.received] == [
        ("case_started", case_id),
        ("task_created", case_id),
    ]


def test_a_subscription_gets_only_the_events_and_units_it_asked_for(engine, people, chain, receiver):
    from elevflow.engine import start_case

    subscribe(engine, receiver, events=["case_started"], unit_ids=[people.unit])
    mine = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    start_case(engine, "stodkedja", pupil_id=people.other_pupil, by=people.outsider)
    assert deliver_all(engine) == 1
    assert told(receiver) == [("case_started", mine.id, None)]
    with pytest.raises(ValueError):
        webhooks.subscribe(engine, "x", "ftp://example.se/", by=None)
    with pytest.raises(ValueError):
        webhooks.subscribe(engine, "x", "https://example.se/", events=["pupil_renamed"], by=None)


def test_a_paused_subscription_keeps_its_events_until_it_is_resumed(engine, people, chain, receiver):
    from elevflow.engine import start_case

    subscription = subscribe(engine, receiver)
    webhooks.set_active(engine, subscription, False)
    start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert deliver_all(engine) == 0
    assert [s.pending for s in webhooks.subscriptions(engine)] == [2]
    webhooks.set_active(engine, subscription, True)
    assert deliver_all(engine) == 2
    assert [b["type"] for b in receiver.received] == ["case_started", "task_created"]
