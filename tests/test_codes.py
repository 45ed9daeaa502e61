"""The message codes: the engine's English table (engine.codes) and the web's Swedish one (webui.codes)
hold the same codes with the same placeholders, the English catalogue translates every Swedish text
with those placeholders, and every code the engine raises or reports is in both tables."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from elevflow.engine import codes
from elevflow.engine.errors import ConflictError, Problem, SandboxError
from elevflow.webui.codes import SWEDISH

ROOT = Path(__file__).resolve().parent.parent
PERCENT = re.compile(r"%\((\w+)\)s")


def _percent(template: str) -> set[str]:
    return set(PERCENT.findall(template))


def test_the_swedish_and_english_tables_hold_the_same_codes_and_placeholders():
    assert set(SWEDISH) == set(codes.MESSAGES)
    for code, english in codes.MESSAGES.items():
        assert codes.CODE.fullmatch(code), code
        assert _percent(SWEDISH[code]) == codes.placeholders(english), code


def test_the_english_catalogue_translates_every_code_with_its_placeholders():
    with open(ROOT / "webui/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = read_po(f)
    for code, swedish in SWEDISH.items():
        message = catalogue.get(swedish)
        assert message is not None and message.string, code
        assert _percent(message.string) == _percent(swedish), code


def _codes_used() -> dict[str, str]:
    """Every string constant the engine passes as a code: to Problem, Coded, or an error it raises, and
    the codes of support.py's rules and validation.py's expression kinds."""
    found = {}
    for path in (ROOT / "engine").rglob("*.py"):
        if path.name == "codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and codes.CODE.fullmatch(
                    node.value) and "." in node.value and node.value.split(".")[0] in _PREFIXES:
                found[node.value] = f"{path.name}:{node.lineno}"
    return found


_PREFIXES = {code.split(".")[0] for code in codes.MESSAGES}


def test_every_code_the_engine_uses_has_a_text_and_every_text_is_used():
    used = _codes_used()
    missing = {code: where for code, where in used.items() if code not in codes.MESSAGES}
    assert not missing
    # state.* words are made from the state's name (codes.state)
    assert set(codes.MESSAGES) - set(used) - {c for c in codes.MESSAGES if c.startswith("state.")} == set()


def _calls(name_ok) -> list[tuple[str, ast.Call]]:
    calls = []
    for path in (ROOT / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and name_ok(node.func.id):
                calls.append((f"{path.name}:{node.lineno}", node))
    return calls


def test_every_deploy_problem_and_conflict_is_raised_with_a_code_not_prose():
    for where, call in _calls(lambda name: name in {"Problem", "ConflictError"}):
        first = call.args[0] if call.args else None
        prose = isinstance(first, ast.JoinedStr) or (
            isinstance(first, ast.Constant) and not codes.is_code(first.value))
        assert not prose, where


def test_an_error_keeps_its_english_text_and_carries_its_code():
    error = ConflictError("conflict.task_state", task="Anmälan", state=codes.state("completed"))
    assert str(error) == "task 'Anmälan' is already completed"
    assert error.code == "conflict.task_state" and error.coded.params["task"] == "Anmälan"
    plain = SandboxError("some text from elsewhere", line=3)
    assert plain.code is None
    assert plain.coded == codes.Coded("plain.text", {"text": "some text from elsewhere"})
    with pytest.raises(ValueError, match="unknown problem code"):
        Problem("the diagram is broken")
