"""How ids and values are shown: a pupil's label, a moment in Swedish local time, a role's name. The names
themselves come from the engine (`elevflow.engine.views.names`, `elevflow.engine.views.pupils`)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from elevflow.engine.org.roles import ROLES
from elevflow.engine.views.pupils import PupilCard
from elevflow.engine.work.notify import STOCKHOLM


def pupil_label(pupil: PupilCard | None, *, in_list: bool = True) -> str:
    """How a pupil is shown: name and class; in lists, never the name of one with a protected identity."""
    if pupil is None:
        return "–"
    if pupil.protected_identity and in_list:
        return _("Elev med skyddade personuppgifter")
    name = f"{pupil.given_name} {pupil.family_name}"
    return f"{name} ({pupil.class_name})" if pupil.class_name else name


def local_time(moment: datetime) -> str:
    """A moment as Swedish local date and time, e.g. 2026-11-23 14:05."""
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def role_name(key: str | None, language: str) -> str:
    role = ROLES.get(key or "")
    if role is None:
        return key or "–"
    return role.en if language == "en" else role.sv
