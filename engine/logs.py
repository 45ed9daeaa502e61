"""Logging, configured once per process by its entry point (the web app, the command line, a benchmark).

`configure(config)` puts one handler on the root logger, writing to standard error either plain lines or
JSON lines (ELEVFLOW_LOG_FORMAT), at ELEVFLOW_LOG_LEVEL; the scheduler's INFO lines then reach the service's
journal. Each record carries the request id of the web request it was logged in (`REQUEST_ID`, set by the web
app per request; "-" elsewhere). Log lines name rows by id, never people: a filter also blanks anything that
looks like an e-mail address, in case an error message from outside (an SMTP server's refusal) holds one.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Config

#: The id of the web request being served in this context ("-" outside a request).
REQUEST_ID: ContextVar[str] = ContextVar("elevflow_request_id", default="-")
EMAIL = re.compile(r"[^\s@<>()\[\]{}'\",;:]+@[^\s@<>()\[\]{}'\",;:]+\.[A-Za-z]{2,}")
_HANDLER_NAME = "elevflow"


def redact(text: str) -> str:
    """`text` with every e-mail address replaced by <address>."""
    return EMAIL.sub("<address>", text)


class _Context(logging.Filter):
    """Adds the request id and blanks e-mail addresses in the message (its arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc)
        entry = {"time": when.isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "-")}
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record comes (a test runner may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class Plain(logging.Formatter):
    """Plain lines; a traceback's text (an exception's message may quote an address) blanked too."""

    def __init__(self) -> None:
        super().__init__(PLAIN)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))  # the traceback too, however another handler cached it


def configure(config: Config, stream: object = None) -> logging.Handler:
    """Set up the root logger once for this process (a second call replaces the first's handler, so
    tests and a re-created app do not log every line twice). Returns the handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler: logging.StreamHandler = logging.StreamHandler(stream) if stream is not None else _Stderr()  # type: ignore[type-arg]
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_Context())
    handler.setFormatter(JsonLines() if config.log_format == "json" else Plain())
    root.addHandler(handler)
    root.setLevel(config.log_level)
    # their INFO lines say nothing an operator acts on (SpiffWorkflow's: every task's every state change)
    for noisy in ("apscheduler", "werkzeug", "spiff", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
