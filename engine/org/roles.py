"""The roles of the domain brief §1: the only names a BPMN lane may carry."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    sv: str
    en: str
    medical: bool = False  # the medical part (EMI): its own secrecy zone


ROLES: dict[str, Role] = {r.key: r for r in [
    Role("larare", "Lärare", "Teacher"),
    Role("mentor", "Mentor", "Mentor"),
    Role("rektor", "Rektor", "Head teacher"),
    Role("specialpedagog", "Specialpedagog", "Special education teacher (specialpedagog)"),
    Role("speciallarare", "Speciallärare", "Special needs teacher (speciallärare)"),
    Role("kurator", "Kurator", "School counsellor"),
    Role("skolskoterska", "Skolsköterska", "School nurse", medical=True),
    Role("skollakare", "Skolläkare", "School doctor", medical=True),
    Role("skolpsykolog", "Skolpsykolog", "School psychologist"),
    Role("elevhalsopersonal", "Elevhälsopersonal", "Student health team member"),
    Role("huvudman", "Huvudman", "School organiser"),
    # Every member of staff at the unit: fritidspedagog, lärarassistent, administrator and anyone else
    # whose work has no lane of its own, who still reports a child at risk or a kränkning.
    Role("personal", "Personal", "Staff member"),
    Role("processagare", "Processägare", "Process owner"),
]}

#: The medical part (skolsköterska, skolläkare): what they write is medical-record data (OSL 25 kap. 1 §).
MEDICAL_ROLES = frozenset(key for key, role in ROLES.items() if role.medical)

_BY_NAME = {name.casefold(): role.key for role in ROLES.values() for name in (role.key, role.sv, role.en)}


def role_for_lane(lane_name: str | None) -> str | None:
    """The role key a lane name stands for (its key, Swedish or English label, any case), or None."""
    if not lane_name:
        return None
    return _BY_NAME.get(lane_name.strip().casefold())
