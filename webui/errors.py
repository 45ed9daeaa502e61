"""Error pages. A task that is not yours and one that does not exist read the same (need-to-know)."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from elevflow.engine.errors import ConflictError, NotFoundError, PermissionDeniedError
from elevflow.engine.oversight.visibility import NotVisibleError

from . import api
from .codes import say_error


def _page(status: int, title: str, message: str) -> Any:
    if api.is_api_request():  # /api/v1 answers every error, a route it lacks too, as problem details
        return api.problem(status)
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _not_here(status: int) -> Any:
    return _page(status, _("Sidan finns inte"),
                 _("Sidan finns inte, eller så har du inte behörighet att se den. Uppgifter och elever "
                   "visas bara för dem som arbetar med dem."))


def _conflict(exc: ConflictError) -> Any:
    """Someone else was first (a view that does not say it in its own words): what happened, in the
    user's language, and what to do; nothing of this request was saved."""
    current_app.logger.info("conflict: %s", exc)
    return _page(409, _("Någon annan hann före"),
                 _("%(what)s. Det du gjorde har inte sparats. Gå tillbaka, ladda om sidan och försök igen.",
                   what=say_error(exc)[:1].upper() + say_error(exc)[1:]))


def init_app(app: Flask) -> None:
    app.register_error_handler(ConflictError, _conflict)
    app.register_error_handler(403, lambda _e: _not_here(403))
    app.register_error_handler(PermissionDeniedError, lambda _e: _not_here(403))
    app.register_error_handler(404, lambda _e: _not_here(404))
    app.register_error_handler(NotFoundError, lambda _e: _not_here(404))
    # a case one may not see reads as one that does not exist
    app.register_error_handler(NotVisibleError, lambda _e: _not_here(404))
    app.register_error_handler(CSRFError, lambda _e: _page(
        400, _("Formuläret hade gått ut"),
        _("Sidan var för gammal för att skicka (eller kom inte från Elevflow). Gå tillbaka, ladda om "
          "sidan och försök igen.")))
    app.register_error_handler(400, lambda _e: _page(
        400, _("Adressen eller formuläret gick inte att läsa"),
        _("Det som skickades innehöll något som Elevflow inte tar emot. Gå tillbaka och försök igen.")))
    app.register_error_handler(405, lambda _e: _page(405, _("Det går inte att göra så här"),
                                                     _("Sidan kan inte användas på det sättet.")))
    app.register_error_handler(500, lambda _e: _page(
        500, _("Något gick fel"),
        _("Ett fel uppstod i Elevflow. Försök igen om en stund; kvarstår felet, kontakta den som "
          "administrerar Elevflow.")))
