"""The `elevflow` command line, run as a user would."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from engine.cli import main

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
