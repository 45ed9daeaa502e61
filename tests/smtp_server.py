"""A real SMTP server for tests: aiosmtpd on a free port of 127.0.0.1, and settings pointing at it."""
from __future__ import annotations

import dataclasses
import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from elevflow.engine import settings

BASE_URL = "https://elevflow.example.se"


@dataclass
class Mailbox:
    """What the test SMTP server received; `refuse` names recipients it answers 550 for."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        ok = (auth_data.login, auth_data.password) == (b"elevflow", b"hemligt")
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(mailbox: Mailbox, **smtp_options: Any) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port, **smtp_options)
    controller.start()
    return controller


def configure(monkeypatch: pytest.MonkeyPatch, port: int, engine: Any = None) -> None:
    """Point the settings at the server: the environment (for engines and apps made from here on) and
    `engine`'s configuration, if given."""
    values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false",
              "MAIL_FROM": "elevflow@skolan.example.se", "BASE_URL": BASE_URL}
    for name, value in values.items():
        monkeypatch.setenv(f"ELEVFLOW_{name}", value)
    if engine is not None:
        reconfigure(monkeypatch, engine, **values)


def reconfigure(monkeypatch: pytest.MonkeyPatch, engine: Any, **values: Any) -> None:
    """Give a running engine other settings for one test (as a restart with them would)."""
    loaded = settings.load(values)  # parsed as strictly as the environment
    changed = {name: getattr(loaded, name) for name in map(settings.field_name, values)}
    monkeypatch.setattr(engine, "config", dataclasses.replace(engine.config, **changed))


def serve(monkeypatch: pytest.MonkeyPatch, engine: Any = None) -> Iterator[Mailbox]:
    """A real SMTP server on a free local port, and the settings pointing at it (for a fixture)."""
    mailbox = Mailbox(free_port())
    controller = start_server(mailbox)
    configure(monkeypatch, mailbox.port, engine)
    yield mailbox
    controller.stop()
