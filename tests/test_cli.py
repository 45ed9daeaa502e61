"""The `elevflow` command line, run as a user would."""
from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from elevflow.cli import main
from elevflow.engine import settings

NO_DATABASE = 3  # the exit code docs/cli.md gives a database that cannot be used
COMMANDS = ["init", "deploy", "versions", "start", "cases", "tasks", "task", "complete", "cancel",
            "scheduler", "audit", "settings", "import", "breaks"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output.splitlines()) > 4


def test_init_deploys_the_shipped_routines_and_is_safe_to_repeat(db_url):
    runner = CliRunner()
    first = runner.invoke(main, ["--database", db_url, "init", "--demo"])
    assert first.exit_code == 0, first.output
    assert "sarskilt_stod v1" in first.output and "Demo organisation loaded" in first.output
    again = runner.invoke(main, ["--database", db_url, "init", "--demo"])
    assert again.exit_code == 0 and "sarskilt_stod v1" in again.output and "v2" not in again.output


def test_a_case_walked_from_the_command_line(db_url, people):
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["--database", db_url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "stodkedja v1" in run("deploy", str(FIXTURES / "stodkedja"), "--note", "test")
    out = run("start", "stodkedja", "--pupil", str(people.pupil), "--as", "teacher")
    assert "case 1 started" in out and "Anmäl till rektor" in out
    task_id = out.splitlines()[1].split()[0]
    assert "Beskriv svårigheterna." in run("task", task_id)
    bad = runner.invoke(main, ["--database", db_url, "complete", task_id, "--as", "teacher", "--data", "{}"])
    assert bad.exit_code == 1 and "anmalan_datum: required" in bad.output
    report = json.dumps({"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt, tappar fokus"})
    out = run("complete", task_id, "--as", "teacher", "--data", report)
    assert "case 1 is running" in out and "Utred behovet" in out
    assert "Utred behovet" in run("tasks", "--user", "specialpedagog")
    assert "stodkedja" in run("cases", "--status", "running")
    assert "audit log intact" in run("audit", "verify")
    assert "task_completed" in run("audit", "log", "--case", "1")


def test_deploying_a_broken_routine_lists_the_problems(db_url, tmp_path):
    (tmp_path / "r.bpmn").write_text("<not bpmn")
    result = CliRunner().invoke(main, ["--database", db_url, "deploy", str(tmp_path)])
    assert result.exit_code == 1 and "malformed XML" in result.output


def test_the_default_database_is_in_the_instance_folder_an_absolute_path(monkeypatch, tmp_path):
    """Not beside the installed package (site-packages): ./instance where Elevflow starts, made absolute
    once, or the folder ELEVFLOW_INSTANCE names."""
    monkeypatch.delenv("ELEVFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("ELEVFLOW_INSTANCE", raising=False)
    monkeypatch.chdir(tmp_path)
    config = settings.load()
    assert config.instance == str(tmp_path.resolve() / "instance")
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'instance' / 'elevflow.db'}"
    monkeypatch.setenv("ELEVFLOW_INSTANCE", str(tmp_path / "srv"))
    monkeypatch.chdir(FIXTURES)
    assert settings.load().database_url == f"sqlite:///{tmp_path.resolve() / 'srv' / 'elevflow.db'}"
    monkeypatch.setenv("ELEVFLOW_DATABASE_URL", "sqlite:///elsewhere.db")
    assert settings.load().database_url == "sqlite:///elsewhere.db"


def test_the_shipped_routines_are_read_from_the_package():
    shipped = settings.shipped_processes()
    assert (shipped / "sarskilt_stod").is_dir() and (shipped / "shared").is_dir()
    assert settings.default("ELEVFLOW_PROCESSES_DIR") == str(shipped)


def test_a_command_run_where_there_is_no_database_creates_none_and_says_so(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # another folder, with the relative URL that used to be the default
    for args in (["tasks"], ["cases"], ["audit", "verify"], ["scheduler", "--once"]):
        result = CliRunner().invoke(main, ["--database", "sqlite:///instance/elevflow.db", *args])
        assert result.exit_code == NO_DATABASE, result.output
        assert f"no Elevflow database at {tmp_path / 'instance' / 'elevflow.db'}" in result.output
        assert "elevflow init" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # not even the folder


def test_a_database_without_elevflows_tables_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).close()  # an empty file: someone else's, or a failed init
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{path}", "tasks"])
    assert result.exit_code == NO_DATABASE and "has no Elevflow tables" in result.output
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_an_empty_postgresql_database_is_refused_and_left_alone(postgres_url):
    url = make_url(postgres_url)
    empty = url.set(database=f"{url.database}_empty")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{empty.database}"'))
        conn.execute(text(f'CREATE DATABASE "{empty.database}"'))
    try:
        rendered = empty.render_as_string(hide_password=False)
        result = CliRunner().invoke(main, ["--database", rendered, "tasks"])
        assert result.exit_code == NO_DATABASE and "has no Elevflow tables" in result.output
        sa_engine = create_engine(empty)
        with sa_engine.connect() as conn:
            tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            assert conn.execute(text(tables)).scalar() == 0
        sa_engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{empty.database}"'))
        admin.dispose()


def test_a_database_that_does_not_answer_is_named_with_its_own_exit_code():
    result = CliRunner().invoke(main, ["--database", "postgresql+psycopg://elevflow@127.0.0.1:9/elevflow",
                                       "audit", "verify"])
    assert result.exit_code == NO_DATABASE  # a broken chain exits 1: an alert can tell them apart
    assert "cannot reach the database postgresql+psycopg://elevflow@127.0.0.1:9/elevflow" in result.output
    assert "Traceback" not in result.output


def test_bad_input_on_the_command_line_gets_a_clear_error_and_changes_nothing(engine, db_url, people, chain,
                                                                               tmp_path):
    runner = CliRunner()

    def refused(*args: str) -> str:
        result = runner.invoke(main, ["--database", db_url, *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.output

    start = ["start", "stodkedja", "--pupil", str(people.pupil), "--as", "teacher"]
    deep = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    assert "nested deeper than 32 levels" in refused(*start, "--data", deep)
    assert "too large to store" in refused(*start, "--data", '{"a": ' + "9" * 30 + "}")
    assert "NUL character" in refused(*start, "--data", '{"a": "x\\u0000y"}')
    assert "not valid JSON" in refused(*start, "--data", "{")
    assert "99999999999999999999" in refused("start", "stodkedja", "--pupil", "99999999999999999999",
                                             "--as", "teacher")
    assert "no user 'nobody'" in refused("start", "stodkedja", "--pupil", str(people.pupil), "--as", "nobody")
    ok = runner.invoke(main, ["--database", db_url, *start])
    assert ok.exit_code == 0, ok.output
    task_id = ok.output.splitlines()[1].split()[0]
    (tmp_path / "latin1.json").write_bytes('{"beskrivning": "Läser"}'.encode("latin-1"))
    missing = f"@{tmp_path / 'nope.json'}"
    assert "no file" in refused("complete", task_id, "--as", "teacher", "--data", missing)
    assert "is not UTF-8 text" in refused("complete", task_id, "--as", "teacher", "--data",
                                          f"@{tmp_path / 'latin1.json'}")
    assert "give the reason" in refused("cancel", "1", "--as", "rektor", "--reason", "   ")
    assert "not in the range" in refused("cancel", str(2**40), "--as", "rektor", "--reason", "Flyttat")
    cases = runner.invoke(main, ["--database", db_url, "cases"]).output.splitlines()
    assert len(cases) == 1 and "running" in cases[0]  # only the one started properly, still running
    assert f"{task_id}  case 1" in runner.invoke(main, ["--database", db_url, "tasks"]).output
