"""Who may do what: the role checks every engine action makes before it changes anything."""
from __future__ import annotations

from typing import Any

from ..errors import PermissionDeniedError
from ..storage.dbapi import Sql, Tx
from .roles import ROLES

EHT_ROLES = frozenset({"specialpedagog", "speciallarare", "kurator", "skolskoterska", "skollakare",
                       "skolpsykolog", "elevhalsopersonal"})

# Everyone who works at a school unit (not the organiser's huvudman or process owners): the Personal
# lane is theirs, for the duties the law lays on every member of staff (29:13, 6:10).
STAFF_ROLES = frozenset({"larare", "mentor", "rektor", "personal"}) | EHT_ROLES
# Roles that serve no lane and take no task: the process owner shapes routines and never works a case, so
# no routine can make a process owner a participant (a lane of this role is refused at deploy, too).
NO_LANE = frozenset({"processagare"})
# The roles that work on cases: every role but those. Starting a case, or finding a pupil to start one
# for, needs one of them at the pupil's unit.
CASE_ROLES = frozenset(ROLES) - NO_LANE

# Which held roles may take a task in a lane. A lane not listed is served by its own role only.
LANE_SERVED_BY: dict[str, frozenset[str]] = {
    "larare": frozenset({"larare", "mentor"}),
    "elevhalsopersonal": EHT_ROLES,
    "personal": STAFF_ROLES,
}


def roles_serving(lane_role: str) -> frozenset[str]:
    """The roles whose holders are candidates for a task in a lane of `lane_role`."""
    if lane_role in NO_LANE:
        return frozenset()
    return LANE_SERVED_BY.get(lane_role, frozenset({lane_role}))


def lanes_served_by(held_role: str) -> set[str]:
    """The lanes whose tasks a holder of `held_role` is a candidate for."""
    if held_role in NO_LANE:
        return set()
    return {held_role} | {lane for lane, roles in LANE_SERVED_BY.items() if held_role in roles}


def serves(held: set[str] | frozenset[str], lane_role: str | None) -> bool:
    """Whether holding `held` at a task's unit makes one a candidate for it (a task in no lane: any role
    that works cases)."""
    return bool(held & roles_serving(lane_role)) if lane_role else bool(set(held) - NO_LANE)


ROLES_AT_UNIT = Sql("SELECT role FROM role_assignments WHERE user_id = :user_id AND unit_id = :unit_id")


def roles_at_unit(tx: Tx, user_id: int, unit_id: int) -> set[str]:
    return {role for (role,) in tx.all(ROLES_AT_UNIT, {"user_id": user_id, "unit_id": unit_id})}


# A user's roles at the unit a case starts at: the one given, else the pupil's. runner.new_case sends it
# ahead with its first reads (`Tx.ahead`), so on PostgreSQL it costs no round trip of its own.
ROLES_AT_START = Sql("""SELECT role FROM role_assignments WHERE user_id = :user_id
    AND unit_id = COALESCE(:unit_id, (SELECT unit_id FROM pupils WHERE id = :pupil_id))""")


def roles_at_start(tx: Tx, user_id: int, unit_id: int | None, pupil_id: int | None) -> dict[str, Any]:
    """Send ROLES_AT_START ahead; return its parameters, for `require_role_at_unit(..., ahead=)`."""
    params = {"user_id": user_id, "unit_id": unit_id, "pupil_id": pupil_id}
    tx.ahead(ROLES_AT_START, params)
    return params


def require_role_at_unit(tx: Tx, user_id: int, unit_id: int, action: str,
                         roles: set[str] | frozenset[str] | None = None,
                         ahead: dict[str, Any] | None = None) -> set[str]:
    """The user's roles at the unit; refuse if they hold none (or none of `roles`). `ahead`: the unit's
    roles were sent ahead by `roles_at_start` with these parameters (naming this unit)."""
    held = ({role for (role,) in tx.all(ROLES_AT_START, ahead)} if ahead is not None
            else roles_at_unit(tx, user_id, unit_id))
    if not held or (roles is not None and not held & set(roles)):
        wanted = f" as {' or '.join(sorted(roles))}" if roles else ""
        raise PermissionDeniedError(f"user {user_id} may not {action} at school unit {unit_id}{wanted}")
    return held
