"""Elevflow's web app for staff: log in, see one's tasks, fill in a step's form, start a routine.

`create_app()` builds the app from the ELEVFLOW_* settings (docs/settings.md); a dict passed to it
overrides them by name without the prefix (tests pass DATABASE_URL, TESTING and SECRET_KEY). Production
runs it under a WSGI server, e.g. ``gunicorn 'webui:create_app()'``; `elevflow demo` serves it locally.
"""
from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from elevflow.engine import Engine, logs, settings
from elevflow.engine.runtime import scheduler

from . import api, configuration, converters, errors, extensions, i18n, oidc, requestlog, security, sessions
from .blueprints import (
    admin,
    attachments,
    auth,
    cases,
    editor,
    inbox,
    notifications,
    ops,
    pupils,
    quality,
    routines,
    tasks,
)

log = logging.getLogger(__name__)
BLUEPRINTS = (auth.bp, inbox.bp, tasks.bp, cases.bp, pupils.bp, notifications.bp, quality.bp, routines.bp,
              editor.bp, admin.bp, attachments.bp, ops.bp)


def create_app(config: dict[str, Any] | None = None, *, workers: Any = None) -> Flask:
    """The web app, with one Engine (app.extensions["elevflow"]), built from the same settings as the
    app's config (so an override given here reaches the engine too), for all its requests.

    `workers`: a pool of evaluation workers for its engine to share (tests), instead of its own.
    Refuses to start (ElevflowError) without ELEVFLOW_SECRET_KEY, outside tests. Starts the embedded
    scheduler when ELEVFLOW_EMBEDDED_SCHEDULER is on and the app is not under test.
    """
    app = Flask(__name__)
    given = dict(config or {})
    engine_config = settings.load(given)  # the one read of the environment, for the app and its engine
    app.config.update(configuration.load(given, engine_config))
    if not app.testing:  # under test, pytest keeps the log
        logs.configure(engine_config)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    state = extensions.Elevflow(Engine(engine_config, workers=workers))
    app.extensions[extensions.KEY] = state
    for integration in (requestlog, converters, i18n, security, sessions, oidc, errors):
        integration.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    api.init_app(app)  # /api/v1 (webui/api/, docs/api.md)
    app.context_processor(_page_context)
    if app.config["EMBEDDED_SCHEDULER"] and not app.testing:
        state.scheduler = scheduler.start_background(state.engine)
        log.info("embedded scheduler started")
    if not app.testing:
        atexit.register(state.close)
    return app


def close_app(app: Flask) -> None:
    """Stop the app's scheduler and close its database connections (tests call this; a server's exit
    does it by itself)."""
    extensions.state(app).close()


def _page_context() -> dict[str, Any]:
    """What every page's header shows: the user, their unread notifications, and whether they follow up
    quality (the Kvalitet link)."""
    user = g.get("user")
    return {"user": user, "unread_count": user.unread if user is not None else 0,
            "quality_nav": user is not None and user.follows_up}
