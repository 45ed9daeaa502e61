"""Notifications: a row in the user's in-app list and, when wanted, an e-mail that says almost nothing.

`notify` runs inside the engine's step transaction, so a notification (and its e-mail) exists exactly
when the step that caused it committed. The in-app message may name the step ("Utred behovet"), never
the pupil. The e-mail names neither: only that a task waits, when it is due and a link, because e-mail
leaves the school's systems and secrecy (OSL 23:2, Skollagen 29:14) forbids pupil content in it.

Who gets an e-mail: an active user with an e-mail address, when SMTP is configured, for the kinds in
`EMAILED`, unless they take the daily digest (digest.py) instead, which then is their only e-mail.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select, update

from ..errors import NotFoundError
from ..settings import Config
from ..storage.dbapi import Sql, Tx
from ..storage.models import Case, Notification, TaskRow
from . import mailer

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

STOCKHOLM = ZoneInfo("Europe/Stockholm")

#: What can be notified.
KINDS = frozenset({"task_assigned", "task_available", "reminder", "escalation", "case_cancelled",
                   "case_message"})
#: The kinds that are also e-mailed. `task_available` is not: a lane may have dozens of candidates,
#: and the inbox (and the digest) already shows them the task.
EMAILED = frozenset({"task_assigned", "reminder", "escalation", "case_message"})

SUBJECTS = {
    "task_assigned": "Elevflow: en uppgift väntar på dig",
    "reminder": "Elevflow: påminnelse om en uppgift",
    "escalation": "Elevflow: en uppgift är försenad",
    "case_message": "Elevflow: ett ärende har ett meddelande till dig",
}
OPENINGS = {
    "task_assigned": "En uppgift i Elevflow har lämnats till dig och väntar på dig.",
    "reminder": "Påminnelse: en uppgift i Elevflow väntar fortfarande på dig.",
    "escalation": "En uppgift i Elevflow är försenad, och du får det här meddelandet för att följa upp den.",
    "case_message": "Ett ärende i Elevflow har skickat ett meddelande till din roll.",
}
SHARED_REMINDER = "Påminnelse: en uppgift i Elevflow väntar fortfarande på någon i din roll."
FOOTER = ("Av sekretesskäl står inget om eleven eller ärendet i e-post. Logga in i Elevflow för att se "
          "uppgiften.\n\nDet här är ett automatiskt meddelande från Elevflow. Svara inte på det.")

USER = Sql("SELECT email, active, daily_digest FROM users WHERE id = :id")
TASK = Sql("SELECT name, due_at, assignee_id FROM tasks WHERE id = :id")
GROUND = Sql("SELECT cancel_ground FROM cases WHERE id = :id")
INSERT = Sql("""INSERT INTO notifications (user_id, kind, case_id, task_id, message, created_at, emailed_at)
    VALUES (:user_id, :kind, :case_id, :task_id, :message, :now, :emailed_at)""")
HOLDERS = Sql("""SELECT DISTINCT r.user_id, r.role FROM role_assignments r
    JOIN users u ON u.id = r.user_id WHERE r.unit_id = :unit_id AND u.active = :yes ORDER BY r.user_id""")


def notify(tx: Tx, user_id: int, kind: str, *, case_id: int | None, task_id: UUID | None,
           now: datetime, config: Config) -> None:
    """Tell a user something inside the caller's transaction: an in-app row, and maybe an e-mail (when
    the engine's `config` has an SMTP host; its links go to the configured base address).

    The task's step name and due date are read from its row, so call this after the step has written
    its task rows. The in-app row is written for every user; the e-mail only as the module says.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    user = tx.first(USER, {"id": user_id})
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    email, active, digest = user
    name, due, shared = None, None, False
    if task_id is not None:
        task = tx.first(TASK, {"id": tx.uuid(task_id)})
        if task is not None:
            name, due, shared = task[0], tx.read_time(task[1]), task[2] is None
    send = (kind in EMAILED and bool(active) and bool(email and email.strip()) and not digest
            and mailer.enabled(config))
    ground = tx.scalar(GROUND, {"id": case_id}) if kind == "case_cancelled" else None
    tx.execute(INSERT, {"user_id": user_id, "kind": kind, "case_id": case_id,
                        "task_id": tx.uuid(task_id) if task_id is not None else None,
                        "message": in_app_message(kind, name, due, case_id=case_id, ground=ground),
                        "now": tx.time(now),
                        "emailed_at": tx.time(now) if send else None})
    if send:
        subject, body = email_text(kind, task_id, due, shared=shared, base_url=config.base_url)
        mailer.queue(tx, email.strip(), subject, body, now)


def notify_role(tx: Tx, unit_id: int, roles: frozenset[str] | set[str], kind: str, *, case_id: int | None,
                task_id: UUID | None, now: datetime, config: Config) -> list[int]:
    """Notify every active holder of any of `roles` at a school unit (the rektor, for an escalation; a
    lane's people, for a reminder of a task nobody has taken); return whom, in id order."""
    held = tx.all(HOLDERS, {"unit_id": unit_id, "yes": True})
    users = sorted({user_id for user_id, role in held if role in roles})
    for user_id in users:
        notify(tx, user_id, kind, case_id=case_id, task_id=task_id, now=now, config=config)
    return users


def local_date(moment: datetime) -> str:
    """A moment as the Swedish calendar date it falls on (ISO, as Swedes write dates)."""
    return moment.astimezone(STOCKHOLM).date().isoformat()


def N_(message: str) -> str:
    """Mark a message for translation (pybabel extracts it): the engine stores the Swedish line, the
    web shows each reader the same line in their own language."""
    return message


#: The line in the user's own notification list, by kind, whether the step is named and whether a date
#: is said. Whole sentences, so each language can order its words.
LINES = {
    ("task_assigned", True, False): N_("Du har fått uppgiften ”%(step)s”."),
    ("task_assigned", False, False): N_("Du har fått en uppgift."),
    ("task_available", True, False): N_("Uppgiften ”%(step)s” väntar på någon i din roll."),
    ("task_available", False, False): N_("En uppgift väntar på någon i din roll."),
    ("reminder", True, True): N_("Påminnelse: uppgiften ”%(step)s” ska vara klar %(day)s."),
    ("reminder", False, True): N_("Påminnelse: en uppgift ska vara klar %(day)s."),
    ("reminder", True, False): N_("Påminnelse: uppgiften ”%(step)s” väntar på dig."),
    ("reminder", False, False): N_("Påminnelse: en uppgift väntar på dig."),
    ("escalation", True, True): N_("Uppgiften ”%(step)s” är försenad (skulle ha varit klar %(day)s)."),
    ("escalation", False, True): N_("En uppgift är försenad (skulle ha varit klar %(day)s)."),
    ("escalation", True, False): N_("Uppgiften ”%(step)s” är försenad."),
    ("escalation", False, False): N_("En uppgift är försenad."),
    # to the huvudman: a reported case was cancelled (engine/runtime/cases.py), on a ground the routine allows
    ("case_cancelled", False, False): N_("Ärende %(case)s avbröts efter anmälan till rektor: %(ground)s."),
    # a send task of the case's routine told its lane (engine/runtime/sending.py)
    ("case_message", False, False): N_("Ärende %(case)s har skickat ett meddelande till din roll."),
}
#: The grounds of specs.CANCEL_GROUNDS as the huvudman's line says them.
CANCEL_LINES = {"elev_flyttat": N_("eleven har flyttat från skolenheten"),
                "dubblett": N_("ärendet är en dubblett av ett annat ärende")}
DATED = frozenset({"reminder", "escalation"})


def in_app_message(kind: str, name: str | None, due: datetime | None,
                   translate: Callable[[str], str] = N_, *, case_id: int | None = None,
                   ground: str | None = None) -> str:
    """The one line shown in the user's own notification list: the step (or a cancelled case's number and
    ground), never the pupil. `translate` picks the reader's language (the stored line is Swedish)."""
    day = local_date(due) if due is not None and kind in DATED else None
    said = translate(CANCEL_LINES[ground]) if ground in CANCEL_LINES else (ground or "")
    return translate(LINES[(kind, bool(name), day is not None)]) % {
        "step": (name or "")[:300], "day": day, "case": case_id, "ground": said}


def email_text(kind: str, task_id: UUID | None, due: datetime | None, *,
               shared: bool = False, base_url: str) -> tuple[str, str]:
    """(subject, body) of a per-event e-mail: that a task waits, its due date and a link — nothing
    about the pupil, the case or even the routine (its name alone can reveal, say, an orosanmälan).
    `shared`: the task is nobody's yet, so a reminder goes to everyone in its lane."""
    opening = SHARED_REMINDER if shared and kind == "reminder" else OPENINGS[kind]
    lines = ["Hej!", "", opening]
    if due is not None:
        lines.append(f"{'Den skulle ha varit klar' if kind == 'escalation' else 'Den ska vara klar senast'} "
                     f"{local_date(due)}.")
    target = f"uppgifter/{task_id}" if task_id is not None else "uppgifter"
    lines += ["", f"Öppna uppgiften: {mailer.link(base_url, target)}", "", FOOTER]
    return SUBJECTS[kind], "\n".join(lines) + "\n"


# --- the in-app list ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unread:
    """A notification in the user's list, with what its line is made of (the task's step and due date)."""

    id: int
    kind: str
    case_id: int | None
    task_id: UUID | None
    created_at: datetime
    step: str | None
    due: datetime | None
    ground: str | None = None  # a cancelled case's ground (kind case_cancelled)

    def line(self, translate: Callable[[str], str] = N_) -> str:
        return in_app_message(self.kind, self.step, self.due, translate, case_id=self.case_id,
                              ground=self.ground)


def unread(engine: Engine, user_id: int, limit: int = 50) -> list[Unread]:
    """A user's unread notifications, newest first."""
    with engine.db.read() as session:
        rows = session.execute(
            select(Notification, TaskRow.name, TaskRow.due_at, Case.cancel_ground)
            .outerjoin(TaskRow, TaskRow.id == Notification.task_id)
            .outerjoin(Case, Case.id == Notification.case_id)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
        return [Unread(n.id, n.kind, n.case_id, n.task_id, n.created_at, name, due,
                       ground if n.kind == "case_cancelled" else None) for n, name, due, ground in rows]


def count_unread(engine: Engine, user_id: int) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(engine: Engine, user_id: int, notification_ids: list[int], now: datetime | None = None) -> int:
    """Mark some of the user's OWN notifications read; ids of anyone else's are ignored. Return how many
    changed."""
    ids = sorted({int(i) for i in notification_ids})
    return _mark(engine, user_id, ids, now) if ids else 0


def mark_all_read(engine: Engine, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; return how many."""
    return _mark(engine, user_id, None, now)


def _mark(engine: Engine, user_id: int, ids: list[int] | None, now: datetime | None) -> int:
    """Set read_at on the user's unread notifications (only those in `ids`, if given)."""
    statement = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    statement = statement.values(read_at=now or datetime.now(timezone.utc))
    with engine.db.write() as session:
        result = session.execute(statement, execution_options={"synchronize_session": False})
        return cast("CursorResult[Any]", result).rowcount
