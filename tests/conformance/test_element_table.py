"""docs/process-owners.md's table of BPMN elements agrees with the editor's verdict, row by row: a row
that says "runs" names models the editor accepts and the conformance suite runs; a "refused" row names
models the editor refuses, each problem naming an element of the model."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from elevflow.engine.routines.editing import verdict

from .models import CALLED, MODELS
from .test_conformance import SCENARIOS

DOC = Path(__file__).parents[2] / "docs" / "process-owners.md"


def rows() -> list[tuple[str, str, list[str]]]:
    text = DOC.read_text(encoding="utf-8").split("## Which BPMN elements run", 1)[1]
    found = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].startswith("`"):
            found.append((cells[0], cells[1], re.findall(r"`(\w+)`", cells[2])))
    return found


def test_the_table_names_every_model_once():
    named = [m for _, _, models in rows() for m in models]
    assert sorted(named) == sorted(MODELS)


@pytest.mark.parametrize("element,says,models", rows(), ids=[r[0] for r in rows()])
def test_the_editor_agrees_with_the_table(element, says, models):
    for key in models:
        files = {f"{key}.bpmn": MODELS[key]}
        if key == "call_activity":
            files["called.bpmn"] = CALLED
        found = verdict(files, {})
        if says.startswith("runs"):
            assert found.runnable, (key, [p.message for p in found.problems])
            assert key in SCENARIOS  # and the conformance suite runs it
        else:
            assert says.startswith("refused at publish, because"), says
            assert not found.runnable and found.problems
            assert all(p.element_id and p.code.startswith("unsupported.") for p in found.problems)
