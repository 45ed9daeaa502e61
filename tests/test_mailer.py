"""The e-mail outbox against a real SMTP server (aiosmtpd on 127.0.0.1): delivery, headers, one send per
e-mail under concurrent schedulers, retries with backoff, giving up, and no e-mail without a host."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from conftest import concurrently
from smtp_server import Mailbox, configure, free_port, reconfigure, serve, start_server
from sqlalchemy import select

from elevflow.engine import Engine
from elevflow.engine.storage.models import OutgoingEmail
from elevflow.engine.work import mailer

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch, engine) -> Iterator[Mailbox]:
    yield from serve(monkeypatch, engine)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch, engine) -> Mailbox:
    """Settings pointing at a local port where no SMTP server listens (yet)."""
    mailbox = Mailbox(free_port())
    configure(monkeypatch, mailbox.port, engine)
    return mailbox


def queue(engine: Engine, *addresses: str, now: datetime = NOW) -> None:
    with engine.db.transaction() as tx:
        for address in addresses:
            mailer.queue(tx, address, "Elevflow: en uppgift väntar på dig", f"Hej {address}!\nLänk.\n", now)


def outbox(engine: Engine) -> list[OutgoingEmail]:
    with engine.db.read() as session:
        return list(session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


def test_a_queued_email_is_delivered_with_proper_headers(engine, smtp):
    queue(engine, "larare@example.se")
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        assert mailer.send_due(engine) == 1
    [msg] = smtp.messages
    assert smtp.envelopes == [("elevflow@skolan.example.se", ["larare@example.se"])]
    assert msg["From"] == "elevflow@skolan.example.se" and msg["To"] == "larare@example.se"
    assert msg["Subject"] == "Elevflow: en uppgift väntar på dig"  # RFC 2047-encoded on the wire
    assert msg["Date"] and msg["Message-ID"].startswith("<elevflow.1.") and msg["Message-ID"].endswith(
        "@skolan.example.se>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content().replace("\r\n", "\n") == "Hej larare@example.se!\nLänk.\n"
    [row] = outbox(engine)
    assert row.sent_at == NOW + timedelta(seconds=5) and row.attempts == 1 and row.last_error is None


def test_send_due_twice_sends_once(engine, smtp):
    queue(engine, "a@example.se", "b@example.se")
    with time_machine.travel(NOW, tick=False):
        assert mailer.send_due(engine) == 2
        assert mailer.send_due(engine) == 0
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert mailer.send_due(engine) == 0
    assert sorted(m["To"] for m in smtp.messages) == ["a@example.se", "b@example.se"]


def test_an_email_waits_for_its_send_after(engine, smtp):
    queue(engine, "a@example.se", now=NOW + timedelta(hours=1))
    assert mailer.send_due(engine, now=NOW) == 0
    assert mailer.send_due(engine, now=NOW + timedelta(hours=1)) == 1


def test_two_concurrent_schedulers_send_each_email_once(engine, db_url, smtp):
    addresses = [f"person{i}@example.se" for i in range(30)]
    queue(engine, *addresses)
    counts = concurrently(db_url, lambda database: mailer.send_due(database, now=NOW))
    assert sum(counts) == 30  # a raised exception would make sum() fail
    assert sorted(m["To"] for m in smtp.messages) == sorted(addresses)
    assert len({m["Message-ID"] for m in smtp.messages}) == 30
    assert all(row.sent_at is not None and row.attempts == 1 for row in outbox(engine))


def test_server_down_records_the_error_and_retries_with_backoff(engine, no_server):
    queue(engine, "a@example.se")
    with time_machine.travel(NOW, tick=False) as clock:
        assert mailer.send_due(engine) == 0
        [row] = outbox(engine)
        assert row.attempts == 1 and row.sent_at is None
        assert "ConnectionRefusedError" in row.last_error
        assert row.send_after == NOW + mailer.backoff(1) == NOW + timedelta(minutes=2)
        clock.shift(timedelta(minutes=1))
        assert mailer.send_due(engine) == 0 and outbox(engine)[0].attempts == 1  # still backing off
        controller = start_server(no_server)
        try:
            clock.shift(timedelta(minutes=1))
            assert mailer.send_due(engine) == 1
        finally:
            controller.stop()
    [row] = outbox(engine)
    assert row.sent_at == NOW + timedelta(minutes=2) and row.attempts == 2 and row.last_error is None
    assert [m["To"] for m in no_server.messages] == ["a@example.se"]


def test_server_down_ends_the_round_without_touching_the_rest(engine, no_server):
    queue(engine, "a@example.se", "b@example.se", "c@example.se")
    assert mailer.send_due(engine, now=NOW) == 0
    assert [row.attempts for row in outbox(engine)] == [1, 0, 0]


def test_after_max_attempts_the_email_is_given_up_and_kept_with_its_error(engine, no_server):
    queue(engine, "a@example.se")
    with time_machine.travel(NOW, tick=False) as clock:
        for attempt in range(1, mailer.MAX_ATTEMPTS + 1):
            assert mailer.send_due(engine) == 0
            assert outbox(engine)[0].attempts == attempt
            clock.shift(mailer.backoff(attempt))
        clock.shift(timedelta(days=30))
        assert mailer.send_due(engine) == 0
    [row] = outbox(engine)
    assert row.attempts == mailer.MAX_ATTEMPTS and row.sent_at is None and "Refused" in row.last_error
    assert [r.id for r in mailer.failed(engine)] == [row.id]


def test_backoff_doubles_up_to_a_ceiling():
    assert [mailer.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (2, 4, 8)]
    assert mailer.backoff(20) == mailer.MAX_BACKOFF
    total = sum((mailer.backoff(n) for n in range(1, mailer.MAX_ATTEMPTS)), timedelta())
    assert total > timedelta(hours=12)  # a server down overnight does not lose the morning's e-mail


def test_a_refused_recipient_is_given_up_at_once_and_the_rest_still_go(engine, smtp):
    smtp.refuse.add("gone@example.se")
    queue(engine, "gone@example.se", "here@example.se")
    assert mailer.send_due(engine, now=NOW) == 1
    gone, here = outbox(engine)
    assert gone.sent_at is None and gone.attempts == mailer.MAX_ATTEMPTS and "550" in gone.last_error
    assert here.sent_at is not None
    assert [m["To"] for m in smtp.messages] == ["here@example.se"]
    assert mailer.send_due(engine, now=NOW + timedelta(days=1)) == 0


def test_an_address_that_would_inject_headers_is_given_up_without_stopping_the_round(engine, smtp):
    queue(engine, "a@example.se\nBcc: spy@example.com", "b@example.se")
    assert mailer.send_due(engine, now=NOW) == 1
    bad, good = outbox(engine)
    assert bad.sent_at is None and bad.attempts == mailer.MAX_ATTEMPTS and "linefeed" in bad.last_error
    assert good.sent_at is not None and [m["To"] for m in smtp.messages] == ["b@example.se"]
    assert smtp.envelopes == [("elevflow@skolan.example.se", ["b@example.se"])]


def test_a_scheduler_that_died_after_claiming_is_covered_by_the_lease(engine, smtp):
    queue(engine, "a@example.se")
    claimed = mailer._claim(engine, NOW)  # as if the process died right after the claim
    assert claimed is not None and claimed.attempts == 1
    assert mailer.send_due(engine, now=NOW + mailer.LEASE - timedelta(seconds=1)) == 0
    assert mailer.send_due(engine, now=NOW + mailer.LEASE) == 1
    assert outbox(engine)[0].attempts == 2 and len(smtp.messages) == 1


def test_without_an_smtp_host_nothing_is_sent_and_the_outbox_waits(engine, smtp, monkeypatch):
    queue(engine, "a@example.se")
    reconfigure(monkeypatch, engine, SMTP_HOST="")
    assert not mailer.enabled(engine.config)
    assert mailer.send_due(engine, now=NOW) == 0
    [row] = outbox(engine)
    assert row.attempts == 0 and row.sent_at is None and smtp.messages == []


def test_login_when_a_username_is_configured(engine, monkeypatch):
    mailbox = Mailbox(free_port())
    controller = start_server(mailbox, authenticator=mailbox.authenticate, auth_require_tls=False)
    try:
        configure(monkeypatch, mailbox.port, engine)
        reconfigure(monkeypatch, engine, SMTP_USERNAME="elevflow", SMTP_PASSWORD="hemligt")
        queue(engine, "a@example.se")
        assert mailer.send_due(engine, now=NOW) == 1
        assert mailbox.logins == [("elevflow", "hemligt")] and len(mailbox.messages) == 1
        reconfigure(monkeypatch, engine, SMTP_PASSWORD="fel")
        queue(engine, "b@example.se")
        assert mailer.send_due(engine, now=NOW) == 0
        assert "Authentication" in outbox(engine)[1].last_error
    finally:
        controller.stop()


def test_links_join_the_base_url():
    assert mailer.link("https://elevflow.example.se/", "/uppgifter/x") == "https://elevflow.example.se/uppgifter/x"
    assert mailer.link("https://elevflow.example.se", "uppgifter") == "https://elevflow.example.se/uppgifter"
