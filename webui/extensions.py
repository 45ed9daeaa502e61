"""What the web app holds per app: its one engine Database and, when embedded, the scheduler."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from engine import Database

KEY = "elevflow"


@dataclass
class Elevflow:
    """The app's share of the engine: the Database every request uses, and the background scheduler."""

    db: Database
    scheduler: Any = None
    closed: bool = False

    def close(self) -> None:
        """Stop the scheduler and close the database's connections (once)."""
        if self.closed:
            return
        self.closed = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)  # a round is one short transaction: let it finish
        self.db.dispose()


def state(app: Flask | None = None) -> Elevflow:
    return (app or current_app).extensions[KEY]


def db() -> Database:
    """The current app's engine Database."""
    return state().db
