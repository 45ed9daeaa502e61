"""Names to show beside ids: school units and staff, one query per kind (never pupils: a pupil's name goes
through need-to-know, `visibility` and `pupils`)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..storage.models import SchoolUnit, User

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine


def unit_names(engine: Engine, ids: Iterable[int]) -> dict[int, str]:
    """The names of the given school units (an id that names none is left out)."""
    wanted = set(ids)
    if not wanted:
        return {}
    with engine.db.read() as session:
        rows = session.execute(select(SchoolUnit.id, SchoolUnit.name).where(SchoolUnit.id.in_(wanted)))
        return {unit_id: name for unit_id, name in rows}


def user_names(engine: Engine, ids: Iterable[int]) -> dict[int, str]:
    """The names of the given members of staff (an id that names none is left out)."""
    wanted = set(ids)
    if not wanted:
        return {}
    with engine.db.read() as session:
        rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
        return {user_id: name for user_id, name in rows}
