"""What an operator watches: readiness, and the numbers behind the Prometheus metrics.

Two kinds of numbers, chosen so that several worker processes (gunicorn, the scheduler, the command line)
sharing one database tell one story:

- Gauges read from the database at each scrape (`DatabaseCollector`): timers due and how late the oldest
  is, the e-mail, webhook and between-cases outboxes, e-mails given up, the audit chain's length, when
  the scheduler last ran a round and when `audit verify` last ran and what it found. Whichever worker
  answers the scrape sees the same rows.
- Counters of this process's own steps and a histogram of their latency (`STEPS`, `STEP_SECONDS`). Under
  several processes, set PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode: each process
  writes its samples to a file there, the scrape sums them); without it each process counts its own.

Duties record when they last ran with `mark` (the table service_status); `readiness` reads them back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from .. import settings
from ..storage import schema
from ..storage.dbapi import Sql
from ..storage.models import AuditHead, CaseEvent, OutgoingEmail, ServiceStatus, Timer, WebhookDelivery
from ..work.mailer import MAX_ATTEMPTS

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

MARK = Sql("""INSERT INTO service_status (name, at, ok, detail) VALUES (:name, :at, :ok, :detail)
    ON CONFLICT (name) DO UPDATE SET at = excluded.at, ok = excluded.ok, detail = excluded.detail""")
SCHEDULER = "scheduler"
AUDIT_VERIFY = "audit_verify"

#: This process's steps by kind, and how long each took (the transaction included).
STEPS = Counter("elevflow_steps", "Steps of cases (every state change), by kind", ["kind"])
STEP_SECONDS = Histogram("elevflow_step_seconds", "How long a step took, its transaction included", ["kind"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


_BY_KIND: dict[str, tuple[Any, Any]] = {}  # each kind's labelled counter and histogram, looked up once


def observe_step(kind: str, seconds: float) -> None:
    found = _BY_KIND.get(kind)
    if found is None:
        found = _BY_KIND[kind] = (STEPS.labels(kind), STEP_SECONDS.labels(kind))
    found[0].inc()
    found[1].observe(seconds)


def mark(engine: Engine, name: str, ok: bool = True, detail: str = "", now: datetime | None = None) -> None:
    """Record that duty `name` ran now (one row per duty, overwritten)."""
    now = now or engine.clock()
    with engine.db.transaction() as tx:
        tx.execute(MARK, {"name": name, "at": tx.time(now), "ok": ok, "detail": detail[:500]})


@dataclass
class Readiness:
    """Whether this process may take requests: each check's verdict, in words an operator can act on."""

    checks: dict[str, str] = field(default_factory=dict)
    ready: bool = True

    def fail(self, check: str, why: str) -> None:
        self.checks[check] = why
        self.ready = False


def readiness(engine: Engine, now: datetime | None = None) -> Readiness:
    """The database answers, its schema is the newest the code knows (no upgrade pending), and some
    scheduler ran a round within three of its intervals."""
    now = now or engine.clock()
    verdict = Readiness()
    try:
        current, head = schema.current_revision(engine), schema.head_revision()
    except Exception as exc:  # an unreachable database: say why, never raise
        verdict.fail("database", f"unreachable: {type(exc).__name__}")
        return verdict
    verdict.checks["database"] = "ok"
    if current != head:
        verdict.fail("schema", f"at {current}, code expects {head}: run `elevflow init --no-deploy`")
    else:
        verdict.checks["schema"] = "ok"
    last = _status(engine).get(SCHEDULER)
    allowed = timedelta(seconds=3 * engine.config.scheduler_interval + 30)
    if last is None:
        verdict.fail("scheduler", "no round recorded yet")
    elif now - last[0] > allowed:
        verdict.fail("scheduler", f"last round {int((now - last[0]).total_seconds())} s ago")
    else:
        verdict.checks["scheduler"] = "ok"
    return verdict


def _status(engine: Engine) -> dict[str, tuple[datetime, bool]]:
    with engine.db.read() as session:
        rows = session.execute(select(ServiceStatus.name, ServiceStatus.at, ServiceStatus.ok)).all()
    return {row.name: (row.at, bool(row.ok)) for row in rows}


class DatabaseCollector:
    """The gauges read from the database when Prometheus scrapes."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def describe(self) -> list[Any]:
        return []  # not known without a query; collected on each scrape

    def collect(self) -> Any:
        engine = self.engine
        now = engine.clock()
        with engine.db.read() as session:
            due, oldest = session.execute(select(func.count(), func.min(Timer.due_at))
                                          .where(Timer.due_at <= now)).one()
            unsent = OutgoingEmail.sent_at.is_(None)
            backlog = session.scalar(select(func.count()).where(unsent, OutgoingEmail.attempts < MAX_ATTEMPTS)
                                     .select_from(OutgoingEmail))
            failed = session.scalar(select(func.count()).where(unsent, OutgoingEmail.attempts >= MAX_ATTEMPTS)
                                    .select_from(OutgoingEmail))
            hooks = session.scalar(select(func.count()).where(WebhookDelivery.delivered_at.is_(None))
                                   .select_from(WebhookDelivery))
            between = session.scalar(select(func.count()).where(CaseEvent.delivered_at.is_(None))
                                     .select_from(CaseEvent))
            audit_seq = session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
        status = _status(engine)
        yield _gauge("elevflow_timers_due", "Timers whose time has come and that no round has fired yet", due)
        lag = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield _gauge("elevflow_timer_lag_seconds", "How long the oldest due timer has waited past its time",
                     lag)
        yield _gauge("elevflow_outbox_backlog", "E-mails waiting to be sent (retries included)", backlog or 0)
        yield _gauge("elevflow_webhook_backlog", "Webhook deliveries not yet accepted by their receiver "
                     "(retries and paused subscriptions included)", hooks or 0)
        yield _gauge("elevflow_case_events_backlog", "Messages and signals between cases not yet delivered "
                     "(unmatched messages kept for later included)", between or 0)
        yield _gauge("elevflow_emails_failed", "E-mails given up after every attempt, kept for the "
                     "administrator", failed or 0)
        yield _gauge("elevflow_audit_events", "Events in the audit chain (its newest sequence number)",
                     audit_seq)
        round_ = status.get(SCHEDULER)
        yield _gauge("elevflow_scheduler_last_round_timestamp_seconds", "When a scheduler last ran a round "
                     "(Unix time; 0: never)", round_[0].timestamp() if round_ else 0)
        verified = status.get(AUDIT_VERIFY)
        yield _gauge("elevflow_audit_verify_timestamp_seconds", "When `elevflow audit verify` last ran "
                     "(Unix time; 0: never)", verified[0].timestamp() if verified else 0)
        yield _gauge("elevflow_audit_verify_ok", "Whether the last `elevflow audit verify` found the chain "
                     "whole (1), broken (0), or never ran (-1)",
                     (1 if verified[1] else 0) if verified else -1)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def metrics_text(engine: Engine) -> bytes:
    """The Prometheus text exposition: this engine's database gauges and the steps counted by every process
    (PROMETHEUS_MULTIPROC_DIR) or by this one."""
    registry = CollectorRegistry()
    if settings.prometheus_multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessSteps())
    registry.register(DatabaseCollector(engine))
    return generate_latest(registry)


class _ProcessSteps:
    """This process's step counter and histogram, for a registry of their own."""

    def collect(self) -> Any:
        yield from STEPS.collect()
        yield from STEP_SECONDS.collect()
