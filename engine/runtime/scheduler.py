"""The scheduler: fires due BPMN timers, sends deadline notices and e-mail, and the daily digests.

One round (`run_once`) does every kind of due work until none is left. Each unit of work claims its row
itself (see timers.py, notices.py, mailer.py, digest.py), so any number of schedulers may share one
PostgreSQL database and each piece of work is done once. APScheduler only calls `run_once` at an
interval; `elevflow scheduler` runs that alone, and the web app can run it in the background.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from ..work import digest, mailer, notices, webhooks
from . import crosscase, health, timers

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

log = logging.getLogger(__name__)


@dataclass
class Round:
    """What one round did."""

    timers: int = 0
    case_events: int = 0
    notices: int = 0
    emails: int = 0
    digests: int = 0
    webhooks: int = 0

    def __bool__(self) -> bool:
        return any(asdict(self).values())


def run_once(engine: Engine, now: datetime | None = None) -> Round:
    """Do all work that is due now: timers first (they open tasks), then notices, digests, e-mail and
    webhooks."""
    now = now or engine.clock()
    done = Round()
    done.timers = timers.fire_due(engine, now)
    done.case_events = crosscase.deliver_pending(engine, now)
    done.notices = notices.fire_due(engine, now)
    done.digests = digest.send_digests(engine, now)
    done.emails = mailer.send_due(engine, now)
    done.webhooks = webhooks.deliver_due(engine, now)
    health.mark(engine, health.SCHEDULER, detail=str(asdict(done)), now=now)  # /readyz: a round ran
    if done:
        log.info("scheduler round: %s", asdict(done))
    return done


def _round(engine: Engine) -> None:
    try:
        run_once(engine)
    except Exception:  # keep the scheduler alive; the next round tries again
        log.exception("scheduler round failed")


def _add_job(scheduler: BackgroundScheduler | BlockingScheduler, engine: Engine, interval: int) -> None:
    scheduler.add_job(_round, "interval", args=[engine], seconds=interval, id="elevflow", max_instances=1,
                      coalesce=True, next_run_time=datetime.now(timezone.utc))


def run_forever(engine: Engine, interval: int | None = None) -> None:
    """Run rounds every `interval` seconds until interrupted (the `elevflow scheduler` command)."""
    scheduler = BlockingScheduler(timezone=timezone.utc)
    _add_job(scheduler, engine, interval or engine.config.scheduler_interval)
    scheduler.start()


def start_background(engine: Engine, interval: int | None = None) -> BackgroundScheduler:
    """Run rounds in a background thread of this process (the web app's embedded scheduler)."""
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    _add_job(scheduler, engine, interval or engine.config.scheduler_interval)
    scheduler.start()
    return scheduler
