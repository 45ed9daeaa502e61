"""Pages only process owners see: the decorator that guards them, and what their pages share."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g
from flask_babel import gettext as _

from .codes import say
from .sessions import login_required

F = TypeVar("F", bound=Callable[..., Any])


def owner_required(view: F) -> F:
    """Logged in and holding the process-owner role; anyone else gets the same 404 as for a missing page."""

    @login_required
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not g.user.owns_processes:  # read with the user, this request
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def nav_context() -> dict[str, Any]:
    """Whether the page header shows the link to the routines (process owners only)."""
    user = g.get("user")
    return {"is_process_owner": user is not None and user.owns_processes}


def problem_dicts(problems: list[Any]) -> list[dict[str, Any]]:
    """Deploy problems for the editor's script: the message in the user's language, its code, and where."""
    return [{"code": p.code, "message": say(p.code, p.params), "element_id": p.element_id, "line": p.line,
             "file": p.file} for p in problems]


def verdict_heading(runnable: bool) -> str:
    return _("Rutinen kan köras.") if runnable else _("Rutinen kan inte publiceras förrän detta är rättat:")
