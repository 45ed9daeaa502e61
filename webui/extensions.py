"""What the web app holds per app: its one engine Database and, when embedded, the scheduler."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from elevflow.engine import Engine

KEY = "elevflow"


@dataclass
class Elevflow:
    """The app's share of the engine: the one Engine every request uses, and the background scheduler."""

    engine: Engine
    scheduler: Any = None
    closed: bool = False

    def close(self) -> None:
        """Stop the scheduler and close the engine (its connections and evaluation workers), once."""
        if self.closed:
            return
        self.closed = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)  # a round is one short transaction: let it finish
        self.engine.close()


def state(app: Flask | None = None) -> Elevflow:
    return (app or current_app).extensions[KEY]


def engine() -> Engine:
    """The current app's Engine."""
    return state().engine
