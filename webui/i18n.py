"""Languages: Swedish by default, English available (Flask-Babel, catalogs in translations/).

The language is the session's: set from the user's own at login (users.language), or chosen with the
switch in the page header, which also remembers it for the user.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, session
from flask_babel import Babel, get_translations

LANGUAGES = {"sv": "Svenska", "en": "English"}
DEFAULT = "sv"


def select_locale() -> str:
    language = session.get("lang")
    return language if language in LANGUAGES else DEFAULT


def _translations() -> Any:
    """The request's catalog, looked up once per request (templates ask for it for every string)."""
    found = g.get("_elevflow_translations")
    if found is None:
        found = g._elevflow_translations = get_translations()
    return found


def _gettext(string: str) -> str:
    return _translations().ugettext(string)


def _ngettext(singular: str, plural: str, num: int) -> str:
    return _translations().ungettext(singular, plural, num)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Stockholm")
    Babel(app, locale_selector=select_locale)
    # Jinja's own "new style" wrappers apply the %(name)s variables and escaping; ours only look the
    # string up, with the catalog cached for the request.
    app.jinja_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = select_locale
