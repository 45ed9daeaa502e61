"""Fixtures for the web app: an app on each test database, the test organisation's people with local
passwords, the stodkedja routine deployed, and HTTP helpers that log in and carry CSRF tokens.

Passwords are hashed with argon2's cheapest parameters here (the real ones take ~50 ms a hash).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient

from elevflow.engine import core, start_case
from elevflow.engine.org import passwords
from elevflow.engine.runtime import tasks
from elevflow.webui import close_app, create_app

PASSWORD = "correct horse battery staple"
PEOPLE = ("teacher", "mentor", "specialpedagog", "rektor", "outsider")
SECRET = "test-secret-key-that-is-long-enough-0123456789"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine made in the test (the test's own, the app's) hashes with the cheapest parameters."""
    monkeypatch.setattr(core, "PasswordHasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def make_app(db_url: str, engine: Any, people: Any, chain: Any,
             workers: Any) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database (config overrides as keyword arguments); closed afterwards."""
    for username in PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET, **config},
                         workers=workers)
        made.append(app)
        return app

    yield make
    for app in made:
        close_app(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def open_task(engine: Any, people: Any, chain: Any) -> Any:
    """A case of stodkedja for the pupil at the teacher's unit, waiting on its first task (Lärare lane)."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    return tasks.list_tasks(engine, case_id=case.id, state="ready")[0]


def csrf(client: FlaskClient, path: str = "/logga-in") -> str:
    """The session's CSRF token, read from a page's form."""
    page = client.get(path)
    found = TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, *,
         token_from: str = "/uppgifter", **kwargs: Any) -> Any:
    """POST with the session's CSRF token, as a browser submitting Elevflow's own form would."""
    return client.post(path, data={"csrf_token": csrf(client, token_from), **(data or {})}, **kwargs)


def login(client: FlaskClient, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    return client.post("/logga-in", data={"username": username, "password": password,
                                          "csrf_token": csrf(client)}, **kwargs)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def drafts(engine: Any, people: Any, chain: Any) -> Any:
    """Two drafts of stodkedja, opened by a process owner at the other unit: one to discard (the route
    tables of test_authorization.py and test_api.py)."""
    from editing_helpers import add_process_owner

    from elevflow.engine.routines import editing
    owner = add_process_owner(engine, people.other_unit, "draftowner")
    return editing.open_draft(engine, chain.id, by=owner), editing.open_draft(engine, chain.id, by=owner)


@pytest.fixture
def owner(engine: Any, people: Any) -> int:
    """A process owner at the people's unit, with a password to log in with."""
    from editing_helpers import add_process_owner
    user = add_process_owner(engine, people.unit)
    passwords.set_password(engine, "processagare", PASSWORD)
    return user


@pytest.fixture
def browser(app: Flask, owner: int) -> FlaskClient:
    """The process owner, logged in to the web app (the routine editor's user)."""
    client = app.test_client()
    assert login(client, "processagare").status_code == 302
    return client


def publish(client: FlaskClient, chain: Any, edit: Callable[[str], str],
            note: str = "Ändrad i testet") -> str:
    """As the process owner `client`: open a draft of `chain`'s version in the editor, change its diagram
    with `edit`, save and publish it; the page that follows (published, or the problems that refused it)."""
    opened = post(client, f"/rutiner/version/{chain.id}/redigera", token_from="/rutiner")
    draft_id = int(re.search(r"/rutiner/utkast/(\d+)$", opened.headers["Location"]).group(1))
    xml = text(client.get(f"/rutiner/utkast/{draft_id}/diagram.bpmn"))
    saved = client.post(f"/rutiner/utkast/{draft_id}/spara", json={"bpmn": edit(xml), "seen": 0},
                        headers={"X-CSRFToken": csrf(client, "/rutiner")})
    assert saved.status_code == 200
    return text(post(client, f"/rutiner/utkast/{draft_id}/publicera", {"note": note, "row_version": 1},
                     token_from="/rutiner", follow_redirects=True))
