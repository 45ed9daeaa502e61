"""Appeal windows: each recipient's last day to appeal a decision, read from the recorded deliveries.

Förvaltningslagen (2017:900) 44 §: an appeal must come in within three weeks of the day the appellant
received the decision — so every recipient has a last day of their own. Lag (1930:173) om beräkning av
lagstadgad tid 2 §: a last day on a Saturday, Sunday, public holiday, midsommarafton, julafton or
nyårsafton moves to the next weekday. The window is open to the end of the latest last day, Swedish time.

The routine's own script (processes/shared/delgivning.bpmn) works the same dates out with the same helpers
(engine.expressions.helpers.statutory_last_day, end_of_day) to set its timer; this module shows them (case
page, task
page) and proposes the timeliness assessment (45 §) from them: callers pass the task entries of a case they
have already opened through engine.oversight.visibility. It also proposes the recipients of a delivery: the
pupil's
guardians (33 § förvaltningslagen: the parties are told of the decision), and the pupil too from 16 years of
age (29 kap. 12 § skollagen: a pupil of 16 speaks for themselves).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..expressions.helpers import end_of_day, statutory_last_day
from ..expressions.terms import STOCKHOLM
from ..storage.dbapi import Sql

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: The field a delivery form records its recipients in, and the appeal forms' fields read here.
RECIPIENTS = "delgivning_mottagare"
ARRIVED = "overklagande_inkom_datum"
APPELLANT = "overklagande_klagande"


GUARDIANS = Sql("""SELECT g.given_name, g.family_name, g.protected_identity FROM guardians g
    JOIN pupil_guardians pg ON pg.guardian_id = g.id WHERE pg.pupil_id = :pupil AND g.active = :active
    ORDER BY g.family_name, g.given_name, g.id""")
PUPIL = Sql("SELECT given_name, family_name, protected_identity, birth_date FROM pupils WHERE id = :pupil")
#: How a guardian or pupil with a protected identity is named in a form (their name is never shown).
PROTECTED_GUARDIAN = "Vårdnadshavare med skyddade personuppgifter"
PROTECTED_PUPIL = "Elev med skyddade personuppgifter"
#: From this age a pupil speaks for themselves (29 kap. 12 § skollagen) and receives decisions too.
OWN_VOICE_AGE = 16


def age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day` (one born on 29 February gets a year older on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def proposed_recipients(engine: Engine, pupil_id: int | None, opened_at: datetime) -> dict[str, Any]:
    """A delivery form's data as proposed before anyone typed: the pupil when 16 or older on the day the
    delivery task opened (`opened_at`, Swedish date), then a row per active guardian of the pupil; each
    named unless their identity is protected; the appeal instructions given. How and when each received
    the decision is left for the rektor; so is adding a pupil whose birth date Elevflow does not hold."""
    with engine.db.snapshot() as tx:
        pupil = tx.first(PUPIL, {"pupil": pupil_id}) if pupil_id is not None else None
        rows = tx.all(GUARDIANS, {"pupil": pupil_id, "active": True}) if pupil_id is not None else []
    recipients = []
    if pupil is not None and pupil[3] is not None:
        given, family, protected, born = pupil
        if age_on(date.fromisoformat(str(born)), opened_at.astimezone(STOCKHOLM).date()) >= OWN_VOICE_AGE:
            recipients.append({"mottagare_namn": PROTECTED_PUPIL if protected else f"{given} {family}",
                               "mottagare_roll": "elev"})
    recipients += [{"mottagare_namn": PROTECTED_GUARDIAN if protected else f"{given} {family}",
                    "mottagare_roll": "vardnadshavare"} for given, family, protected in rows]
    return {"delgivning_overklagandehanvisning": True, RECIPIENTS: recipients}


def last_day(received: date) -> date:
    """A recipient's last day to appeal: three weeks after receipt, moved as lag 1930:173 says."""
    return date.fromisoformat(statutory_last_day(received + timedelta(weeks=3)))


@dataclass(frozen=True)
class Recipient:
    name: str
    role: str  # "vardnadshavare" or "elev"
    received: date
    last_day: date


@dataclass(frozen=True)
class Window:
    """The appeal window of one delivered decision."""

    delivered_at: datetime | None  # when the delivery was recorded
    recipients: tuple[Recipient, ...]

    @property
    def last_day(self) -> date:
        return max(r.last_day for r in self.recipients)

    @property
    def closes_at(self) -> datetime:
        """The end of the latest last day (midnight after it, Swedish time)."""
        return datetime.fromisoformat(end_of_day(self.last_day))

    def last_day_of(self, appellant: str | None) -> date:
        """The appellant's own last day: the pupil's when a pupil of 16 or more appeals, the guardians'
        (the latest of theirs) otherwise; the window's last day when no such recipient was recorded."""
        role = "elev" if appellant == "elev_16" else "vardnadshavare"
        own = [r.last_day for r in self.recipients if r.role == role]
        return max(own) if own else self.last_day


def _recipients(data: dict[str, Any]) -> tuple[Recipient, ...]:
    found = []
    for row in data.get(RECIPIENTS) or []:
        try:
            received = date.fromisoformat(str(row["mottaget_datum"]))
        except (KeyError, TypeError, ValueError):
            continue
        found.append(Recipient(str(row.get("mottagare_namn") or ""), str(row.get("mottagare_roll") or ""),
                               received, last_day(received)))
    return tuple(found)


def windows(tasks: Iterable[Any]) -> list[Window]:
    """The appeal window of every delivery among a case's completed tasks (TaskEntry rows, with the data
    their viewer may see), oldest first."""
    found = []
    for task in sorted((t for t in tasks if t.state == "completed" and t.data),
                       key=lambda t: (t.completed_at is None, t.completed_at)):
        recipients = _recipients(task.data)
        if recipients:
            found.append(Window(task.completed_at, recipients))
    return found


def proposed_timeliness(tasks: Iterable[Any]) -> dict[str, str]:
    """The timeliness assessment (45 §) the latest registered appeal's dates point to, as form data
    (``{"overklagande_rattidighet": "i_tid" | "for_sent"}``); empty when there is nothing to go on."""
    tasks = list(tasks)
    found = windows(tasks)
    appeals = [t for t in tasks if t.state == "completed" and t.data and t.data.get(ARRIVED)]
    if not found or not appeals:
        return {}
    latest = max(appeals, key=lambda t: (t.completed_at is not None, t.completed_at))
    appeal = latest.data
    try:
        arrived = date.fromisoformat(str(appeal[ARRIVED]))
    except ValueError:
        return {}
    before = [w for w in found if w.delivered_at is None or latest.completed_at is None
              or w.delivered_at <= latest.completed_at]  # the decision appealed: delivered before it
    on_time = arrived <= (before or found)[-1].last_day_of(appeal.get(APPELLANT))
    return {"overklagande_rattidighet": "i_tid" if on_time else "for_sent"}
