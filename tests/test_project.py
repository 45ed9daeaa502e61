"""The project's front door and docs stay true: README commands, CI, settings and CLI reference.

Set ELEVFLOW_REGENERATE_DOCS=1 to rewrite docs/cli.md and docs/settings.md from the code instead of
checking them.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from click.testing import CliRunner

from elevflow.cli import main
from elevflow.engine import settings

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = os.environ.get("ELEVFLOW_REGENERATE_DOCS") == "1"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)[:2]


def test_ci_runs_exactly_the_readme_test_command():
    setup, test = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()
    assert "pytest" in test and "elevflow demo" in setup


def test_ci_checks_the_wheel_lint_and_types_before_the_tests():
    """Issue 16's gates: the package built, installed and run outside the checkout, ruff, mypy."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    tests = ci.index(readme_commands()[1])
    for gate in ("scripts/check-wheel", ".venv/bin/ruff check .", ".venv/bin/mypy engine"):
        assert any(line.startswith(gate) for line in ci[:tests]), gate
    wheel = (ROOT / "scripts" / "check-wheel").read_text(encoding="utf-8")
    for step in ("python\" -m build --outdir", "pip\" install -q \"$wheel[dev]\"", "elevflow init",
                 "elevflow demo --no-serve", "/logga-in", "elevflow backup", "elevflow restore",
                 "-p elevflow.engine"):
        assert step in wheel, step


def render_settings() -> str:
    lines = ["# Settings", "",
             "Every setting is an environment variable, parsed strictly at start-up (a value that does not",
             "parse stops Elevflow with a message naming it). `NAME_FILE` may name a file holding the value,",
             "for secrets. `elevflow settings` prints the values in force.", ""]
    for s in settings.SETTINGS:
        default = {"ELEVFLOW_PROCESSES_DIR": "Default: empty, the routines shipped in the package",
                   "ELEVFLOW_DATABASE_URL": "Default: empty, `sqlite:///` and the absolute path of "
                                            "`elevflow.db` in the instance folder",
                   "ELEVFLOW_INSTANCE": "Default: `instance` in the working directory",
                   }.get(s.name, f"Default: `{s.default or '(empty)'}`")
        lines += [f"## `{s.name}`", "", s.help, "", default, ""]
    return "\n".join(lines)


def render_cli() -> str:
    runner = CliRunner()
    lines = ["# The `elevflow` command", "",
             "Every command, as `--help` prints it (this page is generated from the code and checked by",
             "the tests).", ""]

    def walk(args: list[str]) -> None:
        result = runner.invoke(main, [*args, "--help"], prog_name="elevflow", terminal_width=100)
        lines.extend([f"## `elevflow {' '.join(args)}`".replace("elevflow `", "elevflow`") if args
                      else "## `elevflow`", "", "```", result.output.rstrip(), "```", ""])
        command = main
        for a in args:
            command = command.commands[a]
        for name in sorted(getattr(command, "commands", {})):
            walk([*args, name])

    walk([])
    return "\n".join(lines)


def check_doc(path: Path, expected: str) -> None:
    if REGENERATE:
        path.write_text(expected, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == expected, \
        f"{path.name} is out of date: run ELEVFLOW_REGENERATE_DOCS=1 pytest tests/test_project.py"


def test_every_setting_is_documented():
    check_doc(ROOT / "docs" / "settings.md", render_settings())


def test_the_cli_reference_matches_the_commands():
    check_doc(ROOT / "docs" / "cli.md", render_cli())


def test_every_doc_the_readme_links_to_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
