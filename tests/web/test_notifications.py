"""Aviseringar: the unread list, the count in the header, marking read — one's own only."""
from __future__ import annotations

from datetime import datetime, timezone

from elevflow.engine.work import notify

from .conftest import login, post, text


def _notify(engine, user_id, task):
    with engine.db.transaction() as tx:
        notify.notify(tx, user_id, "task_assigned", case_id=task.case_id, task_id=task.id,
                      now=datetime.now(timezone.utc), config=engine.config)


def test_unread_notifications_are_listed_counted_and_marked_read(client, engine, people, open_task):
    _notify(engine, people.teacher, open_task)
    _notify(engine, people.teacher, open_task)
    _notify(engine, people.mentor, open_task)
    login(client, "teacher")
    assert "2 olästa" in text(client.get("/uppgifter"))
    page = text(client.get("/aviseringar"))
    assert page.count("Du har fått uppgiften ”Anmäl till rektor”.") == 2
    assert f'href="/uppgifter/{open_task.id}"' in page
    first = notify.unread(engine, people.teacher)[0]
    post(client, "/aviseringar/las", {"id": str(first.id)}, token_from="/aviseringar")
    assert "1 oläst" in text(client.get("/aviseringar"))
    mentors = notify.unread(engine, people.mentor)[0]
    post(client, "/aviseringar/las", {"id": str(mentors.id)}, token_from="/aviseringar")
    assert notify.count_unread(engine, people.mentor) == 1  # someone else's stays unread
    post(client, "/aviseringar/las", {"alla": "1"}, token_from="/aviseringar")
    assert "Du har inga olästa aviseringar." in text(client.get("/aviseringar"))
    assert notify.count_unread(engine, people.teacher) == 0


def test_notifications_are_shown_in_the_readers_language(client, engine, people, open_task):
    """Stored in Swedish, each line is said again in the language the reader chose."""
    _notify(engine, people.teacher, open_task)
    with engine.db.transaction() as tx:
        notify.notify(tx, people.teacher, "escalation", case_id=open_task.case_id, task_id=None,
                      now=datetime.now(timezone.utc), config=engine.config)
    login(client, "teacher")
    post(client, "/sprak", {"lang": "en", "next": "/aviseringar"})
    page = text(client.get("/aviseringar"))
    assert "You have been given the task “Anmäl till rektor”." in page  # the step's name is the routine's
    assert "A task is overdue." in page
    assert "Du har fått" not in page and "försenad" not in page
    post(client, "/sprak", {"lang": "sv", "next": "/aviseringar"})
    page = text(client.get("/aviseringar"))
    assert "Du har fått uppgiften ”Anmäl till rektor”." in page and "En uppgift är försenad." in page
