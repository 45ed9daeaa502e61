"""Languages: Swedish by default, English available (Flask-Babel, catalogs in translations/).

The language is the session's: set from the user's own at login (users.language), or chosen with the
switch in the page header, which also remembers it for the user.
"""
from __future__ import annotations

from flask import Flask, session
from flask_babel import Babel

LANGUAGES = {"sv": "Svenska", "en": "English"}
DEFAULT = "sv"


def select_locale() -> str:
    language = session.get("lang")
    return language if language in LANGUAGES else DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Stockholm")
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = select_locale
