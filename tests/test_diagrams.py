"""Every shipped diagram reads cleanly the way bpmn-js reads it (bpmn-moddle) and draws every element.

Needs Node.js; the test installs the npm tools from package-lock.json the first time (npm ci). Without
Node it is skipped, unless ELEVFLOW_TEST_REQUIRE_NODE=1 (as CI sets), when it fails instead.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from elevflow.engine import settings

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(Path(settings.load().processes_dir).rglob("*.bpmn"))


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None or shutil.which("npm") is None:
        if os.environ.get("ELEVFLOW_TEST_REQUIRE_NODE") == "1":
            pytest.fail("Node.js and npm are needed to check diagrams the way bpmn-js reads them")
        pytest.skip("Node.js is not installed")
    if not (ROOT / "node_modules" / "bpmn-moddle").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=ROOT, check=True)
    return found


def read_as_bpmn_js(node: str, paths: list[Path]) -> dict[str, dict]:
    result = subprocess.run([node, str(ROOT / "tests" / "js" / "check_bpmn.mjs"), *map(str, paths)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return {Path(line["path"]).name: line for line in map(json.loads, result.stdout.splitlines())}


def test_every_shipped_diagram_reads_without_warnings_and_draws_every_element(node):
    read = read_as_bpmn_js(node, SHIPPED)
    assert set(read) == {p.name for p in SHIPPED}
    for name, verdict in read.items():
        assert verdict["warnings"] == [], name
        assert verdict["missing"] == [], name
        assert verdict["elements"] > 5, name


def test_the_check_notices_an_element_without_a_shape(node, tmp_path):
    diagram = (SHIPPED[0]).read_text(encoding="utf-8")
    shape = diagram.index("<bpmndi:BPMNShape")
    end = diagram.index("</bpmndi:BPMNShape>", shape) + len("</bpmndi:BPMNShape>")
    broken = tmp_path / "broken.bpmn"
    broken.write_text(diagram[:shape] + diagram[end:], encoding="utf-8")
    [verdict] = read_as_bpmn_js(node, [broken]).values()
    assert len(verdict["missing"]) == 1
