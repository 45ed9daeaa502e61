"""How SS 12000 duty roles and assignment roles become Elevflow roles (the table in docs/organisation.md).

Every SS 12000 duty role is listed. Staff whose work has a lane of its own get that lane's role; everyone
else who works at the unit (fritidspedagog, lärarassistent, administrator, ...) gets `personal`, since the
duty to report a child at risk (29 kap. 13 § skollagen) or a kränkning (6 kap. 10 §) is every member of
staff's. A value that is not an SS 12000 duty role at all is an error, so a misspelt role never silently
drops a person's access.
"""
from __future__ import annotations

DUTY_ROLES: dict[str, tuple[str, ...]] = {
    "Rektor": ("rektor",),
    "Lärare": ("larare",),
    "Förstelärare": ("larare",),
    "Förskollärare": ("larare",),  # teaches förskoleklass and fritidshem, which the routines cover
    "Kurator": ("kurator",),
    "Skolsköterska": ("skolskoterska",),
    "Skolläkare": ("skollakare",),
    "Skolpsykolog": ("skolpsykolog",),
    # SS 12000 has one code for both professions; routines may name either lane.
    "Speciallärare/specialpedagog": ("specialpedagog", "speciallarare"),
    "Barnskötare": ("personal",),
    "Bibliotekarie": ("personal",),
    "Lärarassistent": ("personal",),
    "Fritidspedagog": ("personal",),
    "Annan personal": ("personal",),
    "Studie- och yrkesvägledare": ("personal",),
    "Skoladministratör": ("personal",),
    "Övrig arbetsledning": ("personal",),
    "Övrig pedagogisk personal": ("personal",),
    "Förskolechef": ("personal",),
}

# Assignment roles (a duty's role towards a group). Mentor also makes the duty's holder the mentor of
# the group's pupils. Other assignment role types are left aside with a note.
ASSIGNMENT_ROLES: dict[str, tuple[str, ...]] = {
    "Mentor": ("mentor",),
    "Elevhälsopersonal": ("elevhalsopersonal",),
    "Lärare": ("larare",),
}

_DUTY = {name.casefold(): name for name in DUTY_ROLES}
_ASSIGNMENT = {name.casefold(): name for name in ASSIGNMENT_ROLES}


def duty_role(value: str) -> str | None:
    """The SS 12000 duty role a value names (any case), or None if it is not one."""
    return _DUTY.get(value.strip().casefold())


def assignment_roles(value: str) -> tuple[str, ...] | None:
    """The Elevflow roles an assignment role type gives (any case; a duty role name is also accepted,
    as some exports repeat the duty role there), or None if Elevflow does not use it."""
    name = _ASSIGNMENT.get(value.strip().casefold())
    if name is not None:
        return ASSIGNMENT_ROLES[name]
    duty = duty_role(value)
    return DUTY_ROLES[duty] if duty is not None and DUTY_ROLES[duty] else None
