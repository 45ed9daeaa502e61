"""Outgoing webhooks: case and task events told to other systems, from an outbox.

1. A step writes one outbox row (`webhook_deliveries`) per event and subscription that wants it, in the
   step's own transaction (`enqueue`, called by the runner right after the audit events): an event is
   delivered if and only if its step committed, and a crash after the commit loses nothing.
2. The scheduler (`deliver_due`) posts each subscription's rows in id order — which is commit order: the
   rows are written while the step holds the audit head, which serialises every step — signed with
   HMAC-SHA256 of the subscription's secret. A row that fails (no answer, not 2xx) is tried again after
   an exponential backoff (`backoff`), and nothing later of that subscription is posted before it, so a
   receiver sees every event, in order; a receiver that answered but whose answer was lost may see one
   again (at least once: the `id` tells it so).
3. A body names ids only — the case, its unit, the routine, the task and its BPMN id — never a pupil's
   name, a pupil's id or anything typed into a form; a receiver that needs more reads the case through
   the API, under its own token's need-to-know (docs/api.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import urlsplit

import orjson
from sqlalchemy import func, select

from ..errors import NotFoundError
from ..storage.dbapi import Sql, Tx
from ..storage.models import WebhookDelivery, WebhookSubscription

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine
    from ..storage.audit import Event

log = logging.getLogger(__name__)

#: The audit events of a step that are told to subscribers (each with the fields `_body` keeps).
EVENTS = (
    "case_started",
    "case_completed",
    "case_cancelled",
    "case_failed",
    "case_migrated",
    "task_created",
    "task_assigned",
    "task_completed",
    "task_cancelled",
    "decision_signed",
    "timer_fired",
    "message_received",
)
#: Ids and routine structure only: what an event's body may carry from the audit event's data.
KEPT = ("task_id", "bpmn_id", "decision", "assignee_id", "key", "version", "from_version", "to_version")
SIGNATURE = "Elevflow-Signature"
TIMEOUT = 5.0  # seconds a receiver has to answer
FIRST_RETRY = 10  # seconds; doubled after every failure ...
LONGEST_RETRY = 3600  # ... up to an hour
BATCH = 200  # rows per subscription and round at most

SUBSCRIBERS = Sql("SELECT id, events, unit_ids FROM webhook_subscriptions")  # a paused one's wait
INSERT = Sql("""INSERT INTO webhook_deliveries (subscription_id, event, body, created_at, attempts,
    next_attempt_at) VALUES (:subscription_id, :event, :body, :now, 0, :now)""")
CLAIM = {
    "sqlite": Sql("SELECT id, url, secret FROM webhook_subscriptions WHERE id = :id AND active = :yes"),
    # FOR NO KEY UPDATE does not block the steps' inserts (they take key-share locks on this row)
    "postgresql": Sql("""SELECT id, url, secret FROM webhook_subscriptions WHERE id = :id AND active = :yes
             FOR NO KEY UPDATE SKIP LOCKED"""),
}
HEAD = Sql("""SELECT id, event, body, attempts, next_attempt_at FROM webhook_deliveries
    WHERE subscription_id = :id AND delivered_at IS NULL ORDER BY id LIMIT 1""")
DELIVERED = Sql("""UPDATE webhook_deliveries SET delivered_at = :now, attempts = attempts + 1,
    last_status = :status, last_error = NULL WHERE id = :id""")
FAILED = Sql("""UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = :retry,
    last_status = :status, last_error = :error WHERE id = :id""")


def read_ahead(tx: Tx) -> None:
    """At a step's start: ask for the subscribers now, so that `enqueue` reading them at the step's end
    waits for no round trip of its own (PostgreSQL: they come back with the step's first read)."""
    tx.ahead(SUBSCRIBERS)


def enqueue(tx: Tx, case: Any, events: Iterable[Event], now: datetime) -> None:
    """Inside a step's transaction: an outbox row for each event a subscription wants (`case`: the
    step's CaseRef, for its routine and row version)."""
    told = [e for e in events if e.kind in EVENTS]
    if not told:
        return
    subscribers = tx.all(SUBSCRIBERS)
    if not subscribers:
        return
    rows = []
    for event in told:
        body = _body(event, case, now)
        for subscription_id, kinds, units in subscribers:
            kinds, units = tx.read_json(kinds) or [], tx.read_json(units)
            if (not kinds or event.kind in kinds) and (units is None or event.unit_id in units):
                rows.append(
                    {
                        "subscription_id": subscription_id,
                        "event": event.kind,
                        "body": tx.json(body),
                        "now": tx.time(now),
                    }
                )
    if rows:
        tx.executemany(INSERT, rows)


def _body(event: Event, case: Any, now: datetime) -> dict[str, Any]:
    kept = {key: event.data[key] for key in KEPT if key in event.data}
    return {
        "id": str(uuid.uuid4()),
        "type": event.kind,
        "occurred_at": now.isoformat(),
        "case_id": event.case_id,
        "unit_id": event.unit_id,
        "process_key": case.process_key,
        "case_row_version": case.row_version,
        "data": kept,
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure in a row: 10 s, 20 s, 40 s, ... at most an hour."""
    return timedelta(seconds=min(LONGEST_RETRY, FIRST_RETRY * 2 ** max(0, attempts - 1)))


def deliver_due(engine: Engine, now: datetime | None = None) -> int:
    """Post what is due, per subscription in order; the number of events delivered. Any number of
    schedulers may share a PostgreSQL database: each takes a subscription's row (skipping one another
    has) while it posts that subscription's events."""
    now = now or engine.clock()
    with engine.db.snapshot() as tx:
        subscription_ids = [
            i
            for (i,) in tx.all(
                Sql("SELECT id FROM webhook_subscriptions WHERE active = :yes ORDER BY id"), {"yes": True}
            )
        ]
    delivered = 0
    for subscription_id in subscription_ids:
        delivered += _deliver_subscription(engine, subscription_id, now)
    return delivered


def _deliver_subscription(engine: Engine, subscription_id: int, now: datetime) -> int:
    delivered = 0
    for _ in range(BATCH):
        posting = engine.db.transaction() if engine.db.dialect == "postgresql" else engine.db.snapshot()
        with posting as tx:
            claimed = tx.first(CLAIM[tx.dialect], {"id": subscription_id, "yes": True})
            if claimed is None:
                return delivered
            _id, url, secret = claimed
            head = tx.first(HEAD, {"id": subscription_id})
            if head is None or tx.read_time(head[4]) > now:  # type: ignore[operator]
                return delivered
            row_id, event, body, attempts = head[0], head[1], tx.read_json(head[2]), head[3]
            status, error = post(url, secret, row_id, event, body)
            if engine.db.dialect == "postgresql":
                _record(tx, row_id, attempts, status, error, now)
        if engine.db.dialect != "postgresql":
            with engine.db.transaction() as write:
                _record(write, row_id, attempts, status, error, now)
        if error is not None:
            log.info("webhook %s: delivery %s failed (%s), retried later", subscription_id, row_id, error)
            return delivered
        delivered += 1
    return delivered


def _record(tx: Tx, row_id: int, attempts: int, status: int | None, error: str | None, now: datetime) -> None:
    if error is None:
        tx.execute(DELIVERED, {"now": tx.time(now), "status": status, "id": row_id})
    else:
        tx.execute(
            FAILED,
            {
                "retry": tx.time(now + backoff(attempts + 1)),
                "status": status,
                "error": error[:500],
                "id": row_id,
            },
        )


def post(
    url: str, secret: str, delivery_id: int, event: str, body: dict[str, Any]
) -> tuple[int | None, str | None]:
    """POST one event: (HTTP status or None, error or None when the receiver took it with a 2xx)."""
    import http.client  # here: the step path never needs it (and benchmarks/http.py shadows it)

    payload = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    timestamp = str(int(time.time()))
    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        connection = connection_type(parts.hostname or "", parts.port, timeout=TIMEOUT)
        try:
            connection.request(
                "POST",
                (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                body=payload,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "Elevflow-Webhooks/1",
                    "Elevflow-Event": event,
                    "Elevflow-Delivery": str(delivery_id),
                    "Elevflow-Timestamp": timestamp,
                    SIGNATURE: sign(secret, timestamp, payload),
                },
            )
            response = connection.getresponse()
            response.read(65536)
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status < 300:
        return response.status, None
    return response.status, f"HTTP {response.status}"


# --- the administrator's view (the admin page, the command line) ---------------------------------------


@dataclass(frozen=True)
class Subscription:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    unit_ids: tuple[int, ...] | None
    active: bool
    created_at: datetime
    pending: int
    failing: int  # pending rows that have failed at least once
    last_delivered_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    event: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ValueError("a webhook's URL is an http or https address")
    return url.strip()


def subscribe(
    engine: Engine,
    name: str,
    url: str,
    *,
    events: list[str] | tuple[str, ...] = (),
    unit_ids: list[int] | None = None,
    by: int | None,
) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (shown once; the receiver keeps it to check signatures).
    ValueError: a bad name, URL or event kind."""
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValueError(f"unknown webhook events {unknown!r}; known: {', '.join(EVENTS)}")
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ValueError("a webhook needs a name of at most 200 printable characters")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with engine.db.write() as session:
        row = WebhookSubscription(
            name=name,
            url=_check_url(url),
            secret=secret,
            events=sorted(set(events)),
            unit_ids=sorted(set(unit_ids)) if unit_ids is not None else None,
            active=True,
            created_by=by,
            created_at=datetime.now(timezone.utc),
        )
        session.add(row)
        session.flush()
        subscription_id = row.id
    return next(s for s in subscriptions(engine) if s.id == subscription_id), secret


def set_active(engine: Engine, subscription_id: int, active: bool) -> None:
    """Pause or resume a subscription (paused, its events are still written, and wait)."""
    with engine.db.write() as session:
        row = session.get(WebhookSubscription, subscription_id)
        if row is None:
            raise NotFoundError(f"no webhook subscription {subscription_id}")
        row.active = active


def retry_now(engine: Engine, subscription_id: int) -> None:
    """Try the subscription's waiting events at the next round instead of after their backoff."""
    with engine.db.write() as session:
        session.query(WebhookDelivery).filter(
            WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.delivered_at.is_(None)
        ).update({WebhookDelivery.next_attempt_at: datetime.now(timezone.utc)})


def subscriptions(engine: Engine) -> list[Subscription]:
    """Every subscription with its backlog, oldest first."""
    pending = func.count(WebhookDelivery.id).filter(WebhookDelivery.delivered_at.is_(None))
    failing = func.count(WebhookDelivery.id).filter(
        WebhookDelivery.delivered_at.is_(None), WebhookDelivery.attempts > 0
    )
    with engine.db.read() as session:
        rows = session.execute(
            select(WebhookSubscription, pending, failing, func.max(WebhookDelivery.delivered_at))
            .outerjoin(WebhookDelivery, WebhookDelivery.subscription_id == WebhookSubscription.id)
            .group_by(WebhookSubscription.id)
            .order_by(WebhookSubscription.id)
        ).all()
    return [
        Subscription(
            s.id,
            s.name,
            s.url,
            tuple(s.events),
            tuple(s.unit_ids) if s.unit_ids is not None else None,
            s.active,
            s.created_at,
            n,
            f,
            last,
        )
        for s, n, f, last in rows
    ]


def deliveries(engine: Engine, subscription_id: int, *, limit: int = 100) -> list[Delivery]:
    """A subscription's newest deliveries (and waiting events), newest first."""
    with engine.db.read() as session:
        rows = (
            session.execute(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == subscription_id)
                .order_by(WebhookDelivery.id.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )
    return [
        Delivery(
            r.id,
            r.subscription_id,
            r.event,
            r.created_at,
            r.attempts,
            r.next_attempt_at,
            r.delivered_at,
            r.last_status,
            r.last_error,
        )
        for r in rows
    ]
