"""Notifications and the daily digest: in-app rows, e-mail without pupil data (delivered to a real local
SMTP server), all-or-nothing with the step's transaction, each user's own list, one digest a day."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
import time_machine
from conftest import concurrently
from smtp_server import BASE_URL, Mailbox, reconfigure, serve
from sqlalchemy import select, update

from elevflow.engine import Engine, NotFoundError, list_tasks, start_case
from elevflow.engine.storage.models import Notification, OutgoingEmail, TaskRow, User
from elevflow.engine.work import digest, mailer
from elevflow.engine.work.notify import count_unread, mark_all_read, mark_read, notify, notify_role, unread

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)  # a Monday, 09:30 in Stockholm
PUPIL_TRACES = ["Alva", "Andersson", "7B", "stodkedja", "Stödkedja", "Anmäl till rektor"]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch, engine) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and the settings pointing at it."""
    yield from serve(monkeypatch, engine)


@pytest.fixture
def task(engine, people, chain) -> TaskRow:
    """The first task of a support case for Alva Andersson: "Anmäl till rektor", due in a week."""
    with time_machine.travel(NOW, tick=False):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [row] = list_tasks(engine, case_id=case.id, state="ready")
    return row


def emails(engine: Engine) -> list[OutgoingEmail]:
    with engine.db.read() as session:
        return list(session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


def notifications(engine: Engine) -> list[Notification]:
    with engine.db.read() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def set_user(engine: Engine, user_id: int, **values: object) -> None:
    with engine.db.write() as session:
        session.execute(update(User).where(User.id == user_id).values(**values))


def send(engine: Engine, user_id: int, kind: str, task: TaskRow | None, now: datetime = NOW) -> None:
    with engine.db.transaction() as tx:
        notify(tx, user_id, kind, case_id=task.case_id if task else None, task_id=task.id if task else None,
               now=now, config=engine.config)


# --- notify ---------------------------------------------------------------------------------------------

def test_an_assigned_task_is_e_mailed_with_a_link_and_nothing_about_the_pupil(engine, people, task, smtp):
    send(engine, people.teacher, "task_assigned", task)
    [mail] = emails(engine)
    [note] = notifications(engine)
    assert note.emailed_at == NOW and note.task_id == task.id and note.case_id == task.case_id
    assert note.message == "Du har fått uppgiften ”Anmäl till rektor”."
    assert "Alva" not in note.message and "Andersson" not in note.message
    assert mailer.send_due(engine, now=NOW) == 1
    [msg] = smtp.messages
    assert msg["To"] == "teacher@example.se" and msg["Subject"] == "Elevflow: en uppgift väntar på dig"
    body = msg.get_content()
    assert f"{BASE_URL}/uppgifter/{task.id}" in body
    assert "2026-11-30" in body  # due in a week, as a Swedish date
    headers = " ".join(str(value) for value in msg.values())
    for trace in PUPIL_TRACES:
        assert trace not in body and trace not in headers and trace not in mail.subject


def test_a_rolled_back_step_leaves_neither_notification_nor_e_mail(engine, people, task, smtp):
    with pytest.raises(RuntimeError), engine.db.transaction() as tx:
        notify(tx, people.teacher, "task_assigned", case_id=task.case_id, task_id=task.id, now=NOW,
               config=engine.config)
        raise RuntimeError("the step failed after notifying")
    assert notifications(engine) == [] and emails(engine) == []
    assert mailer.send_due(engine, now=NOW) == 0 and smtp.messages == []


def test_without_an_smtp_host_notifications_are_in_app_only(engine, people, task, monkeypatch):
    reconfigure(monkeypatch, engine, SMTP_HOST="")
    send(engine, people.teacher, "task_assigned", task)
    [note] = notifications(engine)
    assert note.emailed_at is None and emails(engine) == []


@pytest.mark.parametrize("change", [{"daily_digest": True}, {"active": False}, {"email": None},
                                    {"email": ""}])
def test_digest_takers_inactive_users_and_users_without_address_get_no_e_mail(engine, people, task, smtp,
                                                                              change):
    set_user(engine, people.teacher, **change)
    send(engine, people.teacher, "task_assigned", task)
    assert len(notifications(engine)) == 1 and emails(engine) == []


def test_a_task_available_to_a_lane_is_in_app_only(engine, people, task, smtp):
    send(engine, people.mentor, "task_available", task)
    [note] = notifications(engine)
    assert note.message == "Uppgiften ”Anmäl till rektor” väntar på någon i din roll."
    assert emails(engine) == []


def test_reminder_and_escalation_texts(engine, people, task, smtp):
    with engine.db.write() as session:
        session.execute(update(TaskRow).where(TaskRow.id == task.id).values(assignee_id=people.teacher))
    send(engine, people.teacher, "reminder", task)
    assert notify_role_in_tx(engine, people.unit, "rektor", "escalation", task) == [people.rektor]
    reminder, escalation = notifications(engine)
    assert reminder.message == "Påminnelse: uppgiften ”Anmäl till rektor” ska vara klar 2026-11-30."
    assert escalation.user_id == people.rektor
    assert escalation.message == ("Uppgiften ”Anmäl till rektor” är försenad "
                                  "(skulle ha varit klar 2026-11-30).")
    first, second = emails(engine)
    assert first.subject == "Elevflow: påminnelse om en uppgift" and "senast 2026-11-30" in first.body
    assert "väntar fortfarande på dig." in first.body
    assert second.to_address == "rektor@example.se" and second.subject == "Elevflow: en uppgift är försenad"
    assert "skulle ha varit klar 2026-11-30" in second.body
    for mail in (first, second):
        assert all(trace not in mail.body for trace in PUPIL_TRACES)


def test_a_reminder_of_a_task_nobody_has_taken_speaks_to_the_lane(engine, people, task, smtp):
    send(engine, people.mentor, "reminder", task)
    [mail] = emails(engine)
    assert "väntar fortfarande på någon i din roll." in mail.body and mail.to_address == "mentor@example.se"


def notify_role_in_tx(engine: Engine, unit: int, role: str, kind: str, task: TaskRow) -> list[int]:
    with engine.db.transaction() as tx:
        return notify_role(tx, unit, {role}, kind, case_id=task.case_id, task_id=task.id, now=NOW,
                           config=engine.config)


def test_a_notification_without_a_task_row_still_reads_well(engine, people, smtp):
    with engine.db.transaction() as tx:
        notify(tx, people.teacher, "reminder", case_id=None, task_id=uuid4(), now=NOW, config=engine.config)
        notify(tx, people.teacher, "escalation", case_id=None, task_id=None, now=NOW, config=engine.config)
    assert [n.message for n in notifications(engine)] == ["Påminnelse: en uppgift väntar på dig.",
                                                      "En uppgift är försenad."]
    assert emails(engine)[1].body.count(f"{BASE_URL}/uppgifter\n") == 1


def test_unknown_kinds_and_users_are_refused(engine, people):
    with pytest.raises(ValueError, match="unknown notification kind"), engine.db.transaction() as tx:
        notify(tx, people.teacher, "gossip", case_id=None, task_id=None, now=NOW, config=engine.config)
    with pytest.raises(NotFoundError), engine.db.transaction() as tx:
        notify(tx, 99999, "reminder", case_id=None, task_id=None, now=NOW, config=engine.config)


# --- the in-app list --------------------------------------------------------------------------------------

def test_each_user_reads_and_marks_only_their_own_notifications(engine, people, task):
    for minutes, user in enumerate([people.teacher, people.teacher, people.mentor]):
        send(engine, user, "task_available", task, now=NOW + timedelta(minutes=minutes))
    mine = unread(engine, people.teacher)
    assert [n.created_at for n in mine] == [NOW + timedelta(minutes=1), NOW]  # newest first
    assert count_unread(engine, people.teacher) == 2 and count_unread(engine, people.outsider) == 0
    [theirs] = unread(engine, people.mentor)
    assert mark_read(engine, people.teacher, [theirs.id]) == 0  # someone else's: ignored
    assert count_unread(engine, people.mentor) == 1
    assert mark_read(engine, people.teacher, [mine[0].id, mine[0].id], now=NOW) == 1
    assert mark_read(engine, people.teacher, [mine[0].id]) == 0  # already read
    assert [n.id for n in unread(engine, people.teacher)] == [mine[1].id]
    assert mark_read(engine, people.teacher, []) == 0
    assert mark_all_read(engine, people.teacher) == 1 and count_unread(engine, people.teacher) == 0
    assert count_unread(engine, people.mentor) == 1
    assert len(unread(engine, people.mentor, limit=0)) == 0


# --- the daily digest -------------------------------------------------------------------------------------

@pytest.fixture
def digest_day(engine, people, chain, smtp):
    """Teacher takes the digest and has three open tasks: two in the teachers' lane (one overdue) and
    one assigned to them at another unit's case; mentor takes it too; rektor does not."""
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)  # due 3 days ago
    with time_machine.travel(NOW, tick=False):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        other = start_case(engine, "stodkedja", pupil_id=people.other_pupil, by=people.outsider)
    with engine.db.write() as session:
        session.execute(update(TaskRow).where(TaskRow.case_id == other.id).values(assignee_id=people.teacher))
    for user in (people.teacher, people.mentor, people.specialpedagog):
        set_user(engine, user, daily_digest=True)
    return people


def digests(engine: Engine) -> dict[str, OutgoingEmail]:
    return {m.to_address: m for m in emails(engine)}


def test_the_digest_counts_what_waits_and_goes_once_a_day(engine, digest_day):
    assert digest.send_digests(engine, now=NOW) == 2
    assert digest.send_digests(engine, now=NOW + timedelta(hours=1)) == 0
    sent = digests(engine)
    assert set(sent) == {"teacher@example.se", "mentor@example.se"}  # specialpedagog: nothing waits
    teacher, mentor = sent["teacher@example.se"], sent["mentor@example.se"]
    assert teacher.subject == "Elevflow: dagens sammanfattning"
    assert "3 uppgifter väntar" in teacher.body and "Av dem är 1 försenad." in teacher.body
    assert "2 uppgifter väntar" in mentor.body and "Av dem är 1 försenad." in mentor.body
    assert f"{BASE_URL}/uppgifter\n" in teacher.body and "2026-11-23" in teacher.body
    for trace in [*PUPIL_TRACES, "Bo", "Berg"]:
        assert trace not in teacher.body
    with engine.db.read() as session:
        days = dict(session.execute(select(User.username, User.last_digest_on)).all())
    assert days == {"teacher": "2026-11-23", "mentor": "2026-11-23", "specialpedagog": "2026-11-23",
                    "rektor": None, "outsider": None}
    assert digest.send_digests(engine, now=NOW + timedelta(days=8)) == 2  # a week on: all are late now
    later = {m.to_address: m.body for m in emails(engine)[2:]}
    assert "3 uppgifter väntar" in later["teacher@example.se"]
    assert "Av dem är 3 försenade." in later["teacher@example.se"]
    assert "Av dem är 2 försenade." in later["mentor@example.se"]


def test_digest_takers_get_per_event_notices_in_app_only_and_the_digest_is_delivered(engine, digest_day,
                                                                                     smtp):
    people = digest_day
    [task] = list_tasks(engine, state="ready", limit=1)
    send(engine, people.teacher, "task_assigned", task)
    assert emails(engine) == [] and count_unread(engine, people.teacher) == 1
    digest.send_digests(engine, now=NOW)
    assert mailer.send_due(engine, now=NOW) == 2
    assert sorted(m["To"] for m in smtp.messages) == ["mentor@example.se", "teacher@example.se"]


def test_no_digest_before_seven_swedish_time_nor_without_smtp(engine, digest_day, monkeypatch):
    early = datetime(2026, 11, 23, 5, 59, tzinfo=timezone.utc)  # 06:59 in Stockholm
    assert digest.send_digests(engine, now=early) == 0
    reconfigure(monkeypatch, engine, SMTP_HOST="")
    assert digest.send_digests(engine, now=NOW) == 0
    reconfigure(monkeypatch, engine, SMTP_HOST="127.0.0.1")
    assert digest.send_digests(engine, now=NOW) == 2  # the day was not used up meanwhile


def test_the_swedish_day_decides(engine, digest_day):
    late_evening = datetime(2026, 11, 23, 22, 30, tzinfo=timezone.utc)  # 23:30 on the 23rd in Stockholm
    just_after_midnight = datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc)  # 00:30 on the 24th
    assert digest.send_digests(engine, now=late_evening) == 2
    assert digest.send_digests(engine, now=just_after_midnight) == 0  # before seven on the 24th
    assert digest.send_digests(engine, now=just_after_midnight + timedelta(hours=7)) == 2


def test_two_schedulers_queue_one_digest_per_user(engine, db_url, digest_day):
    counts = concurrently(db_url, lambda database: digest.send_digests(database, now=NOW))
    assert sum(counts) == 2
    assert sorted(m.to_address for m in emails(engine)) == ["mentor@example.se", "teacher@example.se"]
