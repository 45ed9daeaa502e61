"""Who may do what: the role checks every engine action makes before it changes anything."""
from __future__ import annotations

from .dbapi import Sql, Tx
from .errors import PermissionDeniedError

EHT_ROLES = frozenset({"specialpedagog", "speciallarare", "kurator", "skolskoterska", "skollakare",
                       "skolpsykolog", "elevhalsopersonal"})

# Everyone who works at a school unit (not the organiser's huvudman or process owners): the Personal
# lane is theirs, for the duties the law lays on every member of staff (29:13, 6:10).
STAFF_ROLES = frozenset({"larare", "mentor", "rektor", "personal"}) | EHT_ROLES

# Which held roles may take a task in a lane. A lane not listed is served by its own role only.
LANE_SERVED_BY: dict[str, frozenset[str]] = {
    "larare": frozenset({"larare", "mentor"}),
    "elevhalsopersonal": EHT_ROLES,
    "personal": STAFF_ROLES,
}


def roles_serving(lane_role: str) -> frozenset[str]:
    """The roles whose holders are candidates for a task in a lane of `lane_role`."""
    return LANE_SERVED_BY.get(lane_role, frozenset({lane_role}))


def lanes_served_by(held_role: str) -> set[str]:
    """The lanes whose tasks a holder of `held_role` is a candidate for."""
    return {held_role} | {lane for lane, roles in LANE_SERVED_BY.items() if held_role in roles}


ROLES_AT_UNIT = Sql("SELECT role FROM role_assignments WHERE user_id = :user_id AND unit_id = :unit_id")


def roles_at_unit(tx: Tx, user_id: int, unit_id: int) -> set[str]:
    return {role for (role,) in tx.all(ROLES_AT_UNIT, {"user_id": user_id, "unit_id": unit_id})}


def require_role_at_unit(tx: Tx, user_id: int, unit_id: int, action: str,
                         roles: set[str] | frozenset[str] | None = None) -> set[str]:
    """The user's roles at the unit; refuse if they hold none (or none of `roles`)."""
    held = roles_at_unit(tx, user_id, unit_id)
    if not held or (roles is not None and not held & set(roles)):
        wanted = f" as {' or '.join(sorted(roles))}" if roles else ""
        raise PermissionDeniedError(f"user {user_id} may not {action} at school unit {unit_id}{wanted}")
    return held
