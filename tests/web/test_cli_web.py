"""`elevflow demo` sets demo passwords and serves the web app; `elevflow users set-password`."""
from __future__ import annotations

import stat
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from elevflow.cli import main
from elevflow.cli.demo import demo_secret
from elevflow.engine.org import demo, passwords
from elevflow.engine.storage.models import User
from elevflow.webui import close_app, create_app

from .conftest import SECRET


def _hash(engine: Any, username: str) -> str | None:
    with engine.db.read() as s:
        return s.scalar(select(User.password_hash).where(User.username == username))


def test_demo_sets_and_prints_a_password_for_every_demo_person(db_url, engine, tmp_path, monkeypatch):
    served: list[Flask] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ELEVFLOW_EMBEDDED_SCHEDULER", "false")
    monkeypatch.setattr(Flask, "run", lambda app, **kw: served.append((app, kw)))
    # the made-up cases are tests/web/test_demo_cases.py's
    result = CliRunner().invoke(main, ["--database", db_url, "demo", "--no-cases"])
    assert result.exit_code == 0, result.output
    assert "DEMO ONLY" in result.output
    for username, *_ in demo.STAFF:
        assert f"demo-{username}" in result.output
        assert passwords.verify_password(engine, _hash(engine, username), f"demo-{username}")
    (app, options), = served
    try:
        assert options["host"] == "127.0.0.1" and options["port"] == 5000
        assert app.config["SESSION_COOKIE_SECURE"] is False and not app.testing
        assert (tmp_path / "instance" / "secret_key").read_text().strip() == app.secret_key
    finally:
        close_app(app)
    again = CliRunner().invoke(main, ["--database", db_url, "demo", "--no-serve", "--no-cases"])
    assert again.exit_code == 0 and len(served) == 1


def test_demo_never_sets_known_passwords_beside_real_people(db_url, engine, people):
    result = CliRunner().invoke(main, ["--database", db_url, "demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "no demo passwords were set" in result.output
    assert _hash(engine, "teacher") is None


def test_the_demo_secret_is_made_once_and_kept_private(tmp_path):
    key = demo_secret(tmp_path / "instance")
    path = tmp_path / "instance" / "secret_key"
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_secret(tmp_path / "instance") == key


def test_users_set_password(db_url, engine, people):
    runner = CliRunner()
    command = ["--database", db_url, "users", "set-password"]
    result = runner.invoke(main, [*command, "teacher", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0 and "password set for teacher" in result.output
    assert passwords.verify_password(engine, _hash(engine, "teacher"), "a long enough password")
    short = runner.invoke(main, [*command, "teacher", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    unknown = runner.invoke(main, [*command, "nobody", "--password-stdin"], input="a long enough password\n")
    assert unknown.exit_code == 2 and "no user 'nobody'" in unknown.output
    prompted = runner.invoke(main, [*command, "mentor"], input="another long password\n" * 2)
    assert prompted.exit_code == 0
    assert passwords.verify_password(engine, _hash(engine, "mentor"), "another long password")


def test_the_app_runs_the_scheduler_inside_it_unless_under_test(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "EMBEDDED_SCHEDULER": True})
    scheduler = app.extensions["elevflow"].scheduler
    assert scheduler is not None and scheduler.running
    close_app(app)
    assert not scheduler.running
    tested = create_app({"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "TESTING": True})
    assert tested.extensions["elevflow"].scheduler is None
    close_app(tested)
