"""The daily digest: one e-mail a day, for users who ask for it, saying how many tasks wait.

A user with ``daily_digest`` set gets no e-mail per event (notify.py keeps those in-app only); instead,
once per Swedish calendar day from ELEVFLOW_DIGEST_HOUR on, one e-mail with two numbers — tasks
waiting for them (assigned to them, or open in a lane their roles serve at their units: what their
inbox shows) and how many of those are overdue — and a link. No pupil, no case, no routine: see
notify.py for why.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..org import access
from ..storage.dbapi import Sql, Tx
from . import mailer
from .notify import STOCKHOLM

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: The digest goes out on the first scheduler round after this hour, Swedish time.

CANDIDATES = Sql("""SELECT id FROM users WHERE active = :yes AND daily_digest = :yes AND email IS NOT NULL
    AND email <> '' AND (last_digest_on IS NULL OR last_digest_on <> :today) ORDER BY id""")
CLAIM_DAY = Sql("""UPDATE users SET last_digest_on = :today WHERE id = :id AND active = :yes
    AND daily_digest = :yes AND (last_digest_on IS NULL OR last_digest_on <> :today)""")
EMAIL = Sql("SELECT email FROM users WHERE id = :id")
ROLES = Sql("SELECT unit_id, role FROM role_assignments WHERE user_id = :id")


def send_digests(engine: Engine, now: datetime | None = None) -> int:
    """Queue today's digest for every user who takes one and has not had it; return how many were queued.

    Algorithm (one short transaction per user; several schedulers may run it at once):
    1. Nothing before ELEVFLOW_DIGEST_HOUR Swedish time, and nothing at all without SMTP (the day is not
       used up).
    2. List the candidates: active, digest on, an e-mail address, last_digest_on not today.
    3. For each, in one transaction: claim the day with a conditional UPDATE (last_digest_on := today
       WHERE it is not today yet). A row count of 0 means another scheduler claimed it first (PostgreSQL:
       the second UPDATE waits for the first's row lock, then re-checks the WHERE and finds today;
       SQLite: one writer at a time), so skip the user.
    4. Count the tasks waiting for the user and the overdue ones; if any wait, queue the e-mail in the
       same transaction. Claim and e-mail commit together, so a crash loses neither half alone; a day
       with nothing waiting is used up without an e-mail (no "nothing to do" mail to learn to ignore).
    """
    now = now or datetime.now(timezone.utc)
    local = now.astimezone(STOCKHOLM)
    if local.hour < engine.config.digest_hour or not mailer.enabled(engine.config):
        return 0
    today = local.date().isoformat()
    with engine.db.transaction() as tx:
        users = [user_id for (user_id,) in tx.all(CANDIDATES, {"yes": True, "today": today})]
    queued = 0
    for user_id in users:
        with engine.db.transaction() as tx:
            if tx.rowcount(CLAIM_DAY, {"id": user_id, "yes": True, "today": today}) != 1:
                continue
            waiting, overdue = count_waiting(tx, user_id, now)
            if waiting:
                subject, body = digest_text(today, waiting, overdue, engine.config.base_url)
                mailer.queue(tx, tx.scalar(EMAIL, {"id": user_id}).strip(), subject, body, now)
                queued += 1
    return queued


def count_waiting(tx: Tx, user_id: int, now: datetime) -> tuple[int, int]:
    """(open tasks the user's inbox shows, how many of them are overdue at `now`)."""
    row = tx.first(*waiting_query(tx, user_id, now))
    return (int(row[0]), int(row[1])) if row else (0, 0)


def waiting_query(tx: Tx, user_id: int, now: datetime) -> tuple[Sql, dict[str, object]]:
    """The statement counting a user's waiting tasks, and its parameters. Like the inbox (worklist.py):
    the user's own open tasks, and each (unit, lane) pair's unclaimed ones, each one range of a partial
    index on open tasks, so the count never reads a closed task."""
    pairs = sorted({(unit, lane) for unit, role in tx.all(ROLES, {"id": user_id})
                    for lane in access.lanes_served_by(role)})
    params: dict[str, object] = {"user_id": user_id, "now": tx.time(now)}
    parts = ["SELECT due_at FROM tasks WHERE state = 'ready' AND assignee_id = :user_id"]
    for i, (unit, lane) in enumerate(pairs):
        parts.append(f"""SELECT due_at FROM tasks WHERE state = 'ready' AND assignee_id IS NULL
            AND unit_id = :unit{i} AND role = :lane{i}""")
        params[f"unit{i}"], params[f"lane{i}"] = unit, lane
    return Sql(f"""SELECT count(*), count(CASE WHEN due_at < :now THEN 1 END)
        FROM ({" UNION ALL ".join(parts)}) AS waiting"""), params


def digest_text(today: str, waiting: int, overdue: int, base_url: str) -> tuple[str, str]:
    """(subject, body) of a digest: two numbers and a link, nothing about any pupil."""
    tasks = "1 uppgift väntar" if waiting == 1 else f"{waiting} uppgifter väntar"
    if waiting == 1:
        late = "Den är försenad." if overdue else "Den är inte försenad."
    elif overdue == 0:
        late = "Ingen av dem är försenad."
    else:
        late = f"Av dem är {overdue} försenad{'e' if overdue > 1 else ''}."
    body = "\n".join([
        "Hej!", "", f"Din dagliga sammanfattning från Elevflow, {today}:", "",
        f"{tasks} på dig eller på någon i din roll. {late}", "",
        f"Öppna dina uppgifter: {mailer.link(base_url, 'uppgifter')}", "",
        "Av sekretesskäl står inget om elever eller ärenden i e-post. Logga in i Elevflow för att se mer.",
        "", "Det här är ett automatiskt meddelande från Elevflow. Svara inte på det.", ""])
    return "Elevflow: dagens sammanfattning", body
