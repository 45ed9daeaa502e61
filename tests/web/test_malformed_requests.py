"""Malformed addresses and an absolute session lifetime (issue 13, point 8).

An id no id column can hold names nothing (404), wherever it stands: in the path, a query or a form; a
redirect target with a control character is a malformed request (400), never a split header; and a
session ends ELEVFLOW_SESSION_MAX_HOURS after its login however busy it is kept.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from .conftest import PASSWORD, csrf, login, post, text

HUGE = "99999999999999999999999"  # past every integer type of both databases
PAST_INT4 = str(2**31)  # past PostgreSQL's INTEGER, the id columns' type

PATHS = ["/arenden/{n}", "/arenden/{n}/diagram.bpmn", "/arenden/1/beslut/{n}.pdf",
         "/arenden/{n}/beslut/1.pdf", "/elever/{n}/atkomst", "/rutiner/version/{n}.bpmn",
         "/rutiner/utkast/{n}", "/rutiner/utkast/{n}/formular", "/rutiner/utkast/{n}/diagram.bpmn"]
POSTS = ["/elever/{n}/starta", "/uppgifter/filter/{n}/ta-bort", "/rutiner/version/{n}/redigera",
         "/rutiner/utkast/{n}/publicera"]


@pytest.mark.parametrize("number", [HUGE, PAST_INT4])
def test_an_id_past_the_columns_range_names_no_page(client, number):
    login(client, "rektor")
    for path in PATHS:
        assert client.get(path.format(n=number)).status_code == 404, path
    for path in POSTS:
        assert post(client, path.format(n=number)).status_code == 404, path


@pytest.mark.parametrize("number", [HUGE, PAST_INT4, "²", "-1"])
def test_an_id_past_the_columns_range_in_a_query_or_form_is_ignored(client, open_task, number):
    login(client, "rektor")
    assert client.get(f"/arenden?fore={number}").status_code == 200
    assert client.get(f"/uppgifter?enhet={number}&sida={number}").status_code == 200
    assert client.get(f"/kvalitet?enhet={number}").status_code == 200
    assert post(client, "/aviseringar/las", {"id": number}).status_code == 302


@pytest.mark.parametrize("evil", ["/uppgifter\r\nSet-Cookie: x=1", "/uppgifter\nX: 1", "/uppgifter\x00"])
def test_a_redirect_target_with_a_control_character_is_a_bad_request(client, open_task, evil):
    assert client.get("/logga-in", query_string={"next": evil}).status_code == 400
    refused = client.post("/logga-in", data={"username": "teacher", "password": PASSWORD,
                                             "csrf_token": csrf(client), "next": evil})
    assert refused.status_code == 400 and "Set-Cookie" not in refused.headers
    assert "gick inte att läsa" in text(refused)
    login(client, "teacher")
    claimed = post(client, f"/uppgifter/{open_task.id}/ta", {"next": evil})
    assert claimed.status_code == 400 and "Location" not in claimed.headers


def keep_busy(client, start: datetime, hours: float) -> None:
    """A request every 20 minutes (well inside the idle timeout) for `hours` hours."""
    for minutes in range(20, int(hours * 60) + 1, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/uppgifter").status_code == 200, minutes


def test_a_session_kept_busy_still_ends_at_its_absolute_lifetime(client):
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        login(client, "teacher")
    keep_busy(client, start, 12)
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        response = client.get("/uppgifter")
        assert response.status_code == 302 and response.headers["Location"].startswith("/logga-in")
        assert "loggade in för mer än 12 timmar sedan" in text(client.get(response.headers["Location"]))
        assert client.get("/uppgifter").status_code == 302  # the session is gone, not only refused once
        login(client, "teacher")
        assert client.get("/uppgifter").status_code == 200  # a new login starts a new lifetime


def test_the_absolute_lifetime_is_a_setting(make_app):
    client = make_app(SESSION_MAX_HOURS=2).test_client()
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        login(client, "teacher")
    keep_busy(client, start, 2)
    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        assert client.get("/uppgifter").status_code == 302
