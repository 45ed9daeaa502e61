"""A made-up organisation to try Elevflow with: a municipality, two schools, staff in every role, 30 pupils.

Every name here is invented. `elevflow init --demo` loads it once (it does nothing if users exist).
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ..storage.models import User
from . import records as org

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

UNITS = [("91230001", "Ekbackens skola", "Box 101, 123 45 Exempelby"),  # code, name, postal address
         ("91230002", "Sjöviksskolan", "Sjövägen 2, 123 46 Exempelby")]
STAFF = [  # username, name, role, unit index
    ("rektor.ek", "Rut Rektorsson", "rektor", 0),
    ("larare.ek", "Lars Lärarsson", "larare", 0),
    ("mentor.ek", "Maja Mentorsdotter", "mentor", 0),
    ("specped.ek", "Sara Specialpedagog", "specialpedagog", 0),
    ("speclar.ek", "Sven Speciallärare", "speciallarare", 0),
    ("kurator.ek", "Kim Kurator", "kurator", 0),
    ("skolskot.ek", "Stina Sköterska", "skolskoterska", 0),
    ("skollak.ek", "Lena Läkare", "skollakare", 0),
    ("psykolog.ek", "Per Psykolog", "skolpsykolog", 0),
    ("fritids.ek", "Frida Fritidspedagog", "personal", 0),  # no lane of her own; reports like all staff
    ("rektor.sjo", "Rolf Rektor", "rektor", 1),
    ("larare.sjo", "Lisa Lundlärare", "larare", 1),
    ("mentor.sjo", "Mira Mentorsson", "mentor", 1),
    ("specped.sjo", "Siv Sjöpedagog", "specialpedagog", 1),
    ("kurator.sjo", "Karl Kurator", "kurator", 1),
    ("huvudman", "Hanna Huvudman", "huvudman", None),
    ("processagare", "Petra Processägare", "processagare", None),
]
GIVEN = ["Alva", "Elsa", "Maja", "Vera", "Astrid", "Alice", "Selma", "Ella", "Wilma", "Freja",
         "Noah", "Hugo", "William", "Liam", "Nils", "Oscar", "Lucas", "Alfred", "Elton", "Vincent"]
FAMILY = ["Ek", "Sjöberg", "Lind", "Holm", "Dahl", "Berg", "Strand", "Ström", "Falk", "Björk",
          "Ås", "Hed", "Lund", "Vik", "Mo"]


def load(engine: Engine) -> bool:
    """Load the demo organisation into an empty database; return False if people already exist."""
    with engine.db.write() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return False
        kommun = org.add_organiser(session, "Exempelby kommun", "demo-kommun")
        units = [org.add_unit(session, code, name, kommun.id, address) for code, name, address in UNITS]
        for username, name, role, unit_index in STAFF:
            user = org.add_user(session, username, name, f"{username}@exempelby.se")
            for unit in units if unit_index is None else [units[unit_index]]:
                org.assign_role(session, user.id, unit.id, role)
        for i in range(30):
            unit = units[i % 2]
            org.add_pupil(session, unit.id, GIVEN[i % len(GIVEN)], FAMILY[(i * 7) % len(FAMILY)],
                          f"{7 + i % 3}{'AB'[i % 2]}", external_id=f"demo-elev-{i + 1}",
                          birth_date=date(2013 - i % 3, 1 + i % 12, 1 + i % 28))  # class 7: born 2013
    return True
