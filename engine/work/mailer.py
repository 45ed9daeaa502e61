"""The e-mail outbox: e-mails are queued in the transaction that decides to send them, and sent after.

`queue` writes a row into ``outgoing_emails`` inside the caller's transaction, so an e-mail exists
exactly when the step that wanted it committed. `send_due` is the scheduler's unit of work for e-mail:
it claims due rows one at a time (a lease, so several schedulers never send the same row at once),
sends them over one SMTP connection, and marks them sent. Delivery is *at least once*: see `send_due`.

What goes into an e-mail is decided elsewhere (notify.py, digest.py) and is never pupil data.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..settings import Config
from ..storage.dbapi import Sql, Tx
from ..storage.models import OutgoingEmail

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

log = logging.getLogger(__name__)

#: How long a claimed e-mail is ours to send before another scheduler may take it again.
LEASE = timedelta(minutes=10)
#: After this many failed attempts an e-mail is given up and kept, with its error, for the admin.
MAX_ATTEMPTS = 10
#: The wait after the first failure; it doubles with each further failure, up to `MAX_BACKOFF`.
FIRST_BACKOFF = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=6)
#: Seconds to wait for the SMTP server on connect and on every command.
SMTP_TIMEOUT = 30

SmtpFactory = Callable[[], Any]  # returns a connected, ready smtplib.SMTP (or anything with send_message)

INSERT = Sql("""INSERT INTO outgoing_emails (to_address, subject, body, created_at, send_after, attempts)
    VALUES (:to, :subject, :body, :now, :now, 0)""")
_NEXT_DUE = """SELECT id, to_address, subject, body, created_at, attempts FROM outgoing_emails
    WHERE sent_at IS NULL AND send_after <= :now AND attempts < :max ORDER BY send_after, id LIMIT 1"""
NEXT_DUE = {"sqlite": Sql(_NEXT_DUE), "postgresql": Sql(_NEXT_DUE + " FOR NO KEY UPDATE SKIP LOCKED")}
LEASE_ROW = Sql("""UPDATE outgoing_emails SET send_after = :until, attempts = attempts + 1
    WHERE id = :id AND sent_at IS NULL AND send_after <= :now AND attempts < :max""")
MARK_SENT = Sql("UPDATE outgoing_emails SET sent_at = :now, last_error = NULL WHERE id = :id")
MARK_FAILED = Sql("""UPDATE outgoing_emails SET last_error = :error, send_after = :retry_at,
    attempts = :attempts WHERE id = :id AND sent_at IS NULL""")


def enabled(config: Config) -> bool:
    """Whether e-mail is configured at all (ELEVFLOW_SMTP_HOST is not empty)."""
    return bool(config.smtp_host.strip())


def link(base_url: str, path: str) -> str:
    """An absolute link into Elevflow for an e-mail: the base address (ELEVFLOW_BASE_URL) and `path`."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def queue(tx: Tx, to_address: str, subject: str, body: str, now: datetime) -> None:
    """Queue one e-mail inside the caller's transaction; it is sent once that transaction commits."""
    tx.execute(INSERT, {"to": to_address, "subject": subject, "body": body, "now": tx.time(now)})


@dataclass(frozen=True)
class Claimed:
    """An e-mail this scheduler holds the lease on."""

    id: int
    to_address: str
    subject: str
    body: str
    created_at: datetime
    attempts: int  # including the one now under way


def send_due(engine: Engine, now: datetime | None = None, smtp_factory: SmtpFactory | None = None,
             *, limit: int | None = None) -> int:
    """Send the e-mails that are due; return how many were delivered to the SMTP server.

    Algorithm (each e-mail is handled on its own, so a lease covers one send, never a batch):
    1. If no SMTP host is configured (and no `smtp_factory` given), do nothing: queued rows wait.
    2. Claim the earliest due row (sent_at IS NULL, send_after <= now, attempts < MAX_ATTEMPTS) in a
       short transaction: PostgreSQL locks it with FOR UPDATE SKIP LOCKED, so a second scheduler takes
       the next row instead of waiting; SQLite's write lock (BEGIN IMMEDIATE) serialises claims. In the
       same transaction take the lease: push send_after to now + LEASE and count the attempt, with a
       conditional UPDATE whose row count tells whether someone else was first. Commit.
    3. Open the SMTP connection (once per call, on the first claim) and send the message.
    4. Success: mark the row sent (sent_at) in a new transaction. Failure: record last_error and set
       send_after to now + an exponential backoff; after MAX_ATTEMPTS, or at once for a permanent
       refusal (a 5xx reply, or an address no message can carry), the row is given up and kept with
       its error (see `failed`). A failure to reach the server ends this call: the rest wait.
    5. Repeat from 2 until no row is due (a row claimed in this call has send_after > now, so each
       row is tried at most once per call) or `limit` rows were handled.

    Delivery is at least once, never "exactly once": if the process dies after the server accepted a
    message but before step 4 commits, the lease runs out and the row is sent again. The Message-ID is
    derived from the row, so the copy carries the same Message-ID as the first and mail clients can
    tell. A crash before the send only delays the e-mail by LEASE.
    """
    if smtp_factory is None:
        if not enabled(engine.config):
            return 0
        config = engine.config
        smtp_factory = lambda: connect(config)  # noqa: E731
    now = now or datetime.now(timezone.utc)
    sent = handled = 0
    smtp: Any = None
    try:
        while limit is None or handled < limit:
            mail = _claim(engine, now)
            if mail is None:
                break
            handled += 1
            try:
                msg = message(engine.config, mail, now)
            except ValueError as exc:  # e.g. a line break in the address: it can never be sent
                _record_failure(engine, mail, exc, now, permanent=True)
                continue
            try:
                if smtp is None:
                    smtp = smtp_factory()
                smtp.send_message(msg)
            except (smtplib.SMTPException, OSError) as exc:
                _record_failure(engine, mail, exc, now)
                if not _message_error(exc):  # the server is down or the connection broke
                    break
                continue
            _mark_sent(engine, mail.id, now)
            sent += 1
    finally:
        if smtp is not None:
            _close(smtp)
    return sent


def _claim(engine: Engine, now: datetime) -> Claimed | None:
    while True:
        with engine.db.transaction() as tx:
            row = tx.first(NEXT_DUE[tx.dialect], {"now": tx.time(now), "max": MAX_ATTEMPTS})
            if row is None:
                return None
            mail_id, to_address, subject, body, created_at, attempts = row
            leased = tx.rowcount(LEASE_ROW, {"id": mail_id, "now": tx.time(now),
                                             "until": tx.time(now + LEASE), "max": MAX_ATTEMPTS})
            if leased == 1:
                created = tx.read_time(created_at) or now
                return Claimed(mail_id, to_address, subject, body, created, attempts + 1)
        # another scheduler leased it between our read and our update: look for the next one


def _mark_sent(engine: Engine, mail_id: int, now: datetime) -> None:
    with engine.db.transaction() as tx:
        tx.execute(MARK_SENT, {"id": mail_id, "now": tx.time(now)})


def _record_failure(engine: Engine, mail: Claimed, exc: BaseException, now: datetime, *,
                    permanent: bool = False) -> None:
    give_up = permanent or _permanent(exc) or mail.attempts >= MAX_ATTEMPTS
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if give_up:
        # never the address (personal data): the id finds the row, which the administrator may read
        log.error("e-mail %s given up after %s attempt(s): %s", mail.id, mail.attempts, error)
    else:
        log.warning("e-mail %s failed (attempt %s), retrying after %s: %s", mail.id, mail.attempts,
                    backoff(mail.attempts), error)
    with engine.db.transaction() as tx:
        tx.execute(MARK_FAILED, {"id": mail.id, "error": error,
                                 "retry_at": tx.time(now + backoff(mail.attempts)),
                                 "attempts": max(mail.attempts, MAX_ATTEMPTS) if give_up else mail.attempts})


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 2, 4, 8 … minutes, at most six hours."""
    return min(FIRST_BACKOFF * 2 ** max(0, attempts - 1), MAX_BACKOFF)


def _message_error(exc: BaseException) -> bool:
    """Whether the server refused this one message (so the connection is still good for the next)."""
    return isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError))


def _permanent(exc: BaseException) -> bool:
    """A 5xx refusal: trying again will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code >= 500
    return False


def message(config: Config, mail: Claimed, now: datetime) -> EmailMessage:
    """The e-mail as sent: UTF-8 plain text, with From, To, Subject, Date and a stable Message-ID."""
    sender = config.mail_from
    domain = sender.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now.astimezone(timezone.utc))
    msg["Message-ID"] = f"<elevflow.{mail.id}.{mail.created_at:%Y%m%d%H%M%S%f}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    msg.set_content(mail.body, charset="utf-8", cte="quoted-printable")  # 7-bit clean for any relay
    return msg


def connect(config: Config) -> smtplib.SMTP:
    """A connection to the configured SMTP server: STARTTLS (certificate checked) and login if set."""
    smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT)
    try:
        if config.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.smtp_username:
            smtp.login(config.smtp_username, config.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _close(smtp: Any) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def failed(engine: Engine, limit: int = 100) -> list[OutgoingEmail]:
    """E-mails given up (MAX_ATTEMPTS reached, or refused for good), newest first, with their errors."""
    with engine.db.read() as session:
        return list(session.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.attempts >= MAX_ATTEMPTS)
            .order_by(OutgoingEmail.created_at.desc()).limit(limit)))
