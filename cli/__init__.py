"""The `elevflow` command line: a client of the engine (and, for `elevflow demo`, of the web app).

It lives beside `engine/` and `webui/` rather than in the engine, so that the engine never imports the web.
"""
from .commands import main, run
from .context import Context

__all__ = ["main", "run", "Context"]
