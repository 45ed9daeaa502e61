"""Languages: Swedish by default, English available (Flask-Babel, catalogs in translations/).

The language is the session's: set from the user's own at login (users.language), or chosen with the
switch in the page header, which also remembers it for the user.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, session
from flask_babel import Babel, get_translations
from markupsafe import Markup

from .codes import say_coded

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


def _gettext(string: str, **variables: Any) -> Markup:
    """`_()` in templates: Jinja's "new style" gettext (the translation is trusted markup, the
    variables are escaped into it), called directly rather than through the i18n extension's two
    wrappers, which cost more than the lookup on a page with many strings."""
    return Markup(_translations().ugettext(string)) % variables


def _ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
    variables.setdefault("num", num)
    return Markup(_translations().ungettext(singular, plural, num)) % variables


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Stockholm")
    Babel(app, locale_selector=select_locale)
    # Every template is HTML with autoescaping, so "new style" gettext is: the trusted translation as
    # markup, the %(name)s variables escaped into it. The catalog is looked up once per request.
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["say_coded"] = say_coded  # an engine message (engine.codes) in this language
    app.jinja_env.globals["current_language"] = select_locale
