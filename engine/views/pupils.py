"""Pupils as staff find them: a search among the pupils of one's own school units, the pupil a routine is
started for, and the pupil an access history is about.

Need-to-know (docs/privacy.md): a person finds only the active pupils of the units where they work on cases
(`people.case_units`: a role there other than the process owner's), and no list ever holds a pupil with a
protected identity. Whoever asks — the web, the command line, a future API — gets these answers from here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from ..oversight import visibility
from ..oversight.visibility import PROTECTED_NAME, AccessEntry, CaseSummary
from ..routines import step_declarations
from ..storage.models import Pupil
from . import people

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: At most this many pupils are listed for one search.
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class PupilCard:
    """A pupil as a list or a page shows them."""

    id: int
    unit_id: int
    given_name: str
    family_name: str
    class_name: str | None
    active: bool
    protected_identity: bool


def _card(pupil: Pupil) -> PupilCard:
    return PupilCard(pupil.id, pupil.unit_id, pupil.given_name, pupil.family_name, pupil.class_name,
                     bool(pupil.active), bool(pupil.protected_identity))


def _patterns(term: str) -> set[str]:
    """LIKE patterns for a search term: SQLite folds case only for A-Z, so Å, Ä and Ö are tried both ways."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {f"%{variant}%" for variant in (escaped, escaped.lower(), escaped.capitalize(), escaped.upper())}


def search(engine: Engine, user_id: int, term: str, limit: int = SEARCH_LIMIT) -> list[PupilCard]:
    """Active pupils at the units where the user works on cases whose name or class matches `term` (at
    least two characters; `%` and `_` are searched for as themselves), by name. Never a pupil with a
    protected identity: they are not listed."""
    return _search(engine, people.case_units(engine, user_id), term, limit)


def _search(engine: Engine, unit_ids: Iterable[int], term: str, limit: int) -> list[PupilCard]:
    units = set(unit_ids)
    term = " ".join(term.split())
    if not units or len(term) < 2 or "\x00" in term:  # no name holds a NUL (nor can a query's text)
        return []
    full_name = Pupil.given_name + " " + Pupil.family_name
    columns = (Pupil.given_name, Pupil.family_name, full_name, Pupil.class_name)
    conditions = [column.ilike(pattern, escape="\\") for pattern in _patterns(term) for column in columns]
    with engine.db.read() as session:
        return [_card(p) for p in session.scalars(
            select(Pupil).where(Pupil.unit_id.in_(units), Pupil.active.is_(True),
                                Pupil.protected_identity.is_(False), or_(*conditions))
            .order_by(Pupil.family_name, Pupil.given_name, Pupil.id).limit(limit))]


def startable(engine: Engine, user_id: int, pupil_id: int) -> PupilCard | None:
    """The pupil, if the user may start a routine for them: an active pupil at a unit where the user works
    on cases (a protected identity included: the starter knows whom they start it for). None otherwise,
    the same whether the pupil does not exist or is not the user's to find."""
    units = people.case_units(engine, user_id)
    with engine.db.read() as session:
        pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.unit_id not in units or not pupil.active:
        return None
    return _card(pupil)


def access_history(engine: Engine, pupil_id: int, *, asked_by: int,
                   limit: int = 1000) -> tuple[PupilCard | None, list[AccessEntry]]:
    """The pupil and who opened their cases, for the rektor of the pupil's unit only
    (`visibility.access_history`: checked and logged there; PermissionDeniedError for anyone else)."""
    rows = visibility.access_history(engine, pupil_id, asked_by=asked_by, limit=limit)
    with engine.db.read() as session:
        pupil = session.get(Pupil, pupil_id)
    return (_card(pupil) if pupil is not None else None), rows


@dataclass(frozen=True)
class OpenStep:
    """A step of a running case waiting to be done: by whom (its holder, else its lane's role) and when."""

    name: str
    role: str | None
    assignee_name: str | None
    due_at: datetime | None


@dataclass(frozen=True)
class PupilCase:
    """One of the pupil's cases on their page; a running one with its open steps and what its routine
    declares for the pupil's page (`pupilPage`: (step id, field, value), the medical part's withheld)."""

    summary: CaseSummary
    process_version_id: int | None
    open_steps: tuple[OpenStep, ...] = ()
    current: tuple[tuple[str, str, Any], ...] = ()


@dataclass(frozen=True)
class PupilPage:
    pupil: PupilCard
    name: str  # never a protected identity's name
    cases: list[PupilCase]


def page(engine: Engine, user_id: int, pupil_id: int) -> PupilPage | None:
    """A pupil's page as the user may see it: every case of the pupil the user may see (need-to-know),
    open and closed; for each running case, its open steps and what its routine declares for the page
    (read through `visibility.open_case`, each look logged as "elevsida"). None — the same whether or
    not the pupil exists — unless the pupil is at a unit where the user works on cases or the user may
    see a case of theirs."""
    with engine.db.read() as session:
        pupil = session.get(Pupil, pupil_id)
        card = _card(pupil) if pupil is not None else None
    if card is None:
        return None
    summaries = visibility.visible_cases(engine, user_id, pupil_id=pupil_id, limit=200)
    if not summaries and card.unit_id not in people.case_units(engine, user_id):
        return None
    found = []
    for summary in summaries:
        if summary.status != "running":
            found.append(PupilCase(summary, None))
            continue
        case = visibility.open_case(engine, user_id, summary.id, detail="elevsida")
        declared = step_declarations.pupil_page_fields(
            engine.specs.get(case.process_version_id).properties.get(step_declarations.PUPIL_PAGE, ""))
        latest = {t.bpmn_id: t.data for t in case.tasks
                  if t.state == "completed" and t.data and not t.withheld}
        current = tuple((step, name, latest[step][name]) for step, name in declared
                        if name in (latest.get(step) or {}) and latest[step][name] not in (None, "", []))
        steps = tuple(OpenStep(t.name, t.role, t.assignee_name, t.due_at) for t in case.tasks
                      if t.state == "ready")
        found.append(PupilCase(summary, case.process_version_id, steps, current))
    name = PROTECTED_NAME if card.protected_identity else f"{card.given_name} {card.family_name}"
    return PupilPage(card, name, found)


def running_cases(engine: Engine, user_id: int, pupil_id: int, process_key: str) -> list[CaseSummary]:
    """The pupil's running cases of a routine that the user may see: before starting another (a
    duplicate?). Not logged: it shows only that a case exists."""
    return visibility.visible_cases(engine, user_id, pupil_id=pupil_id, process_key=process_key,
                                    status="running", limit=10)
