"""The committed editor bundle (webui/static/vendor/elevflow-modeler) is exactly what
scripts/build-modeler.mjs makes from package-lock.json and scripts/modeler/, and holds no inline style
the Content-Security-Policy would refuse.

Needs Node.js (skipped without it, unless ELEVFLOW_TEST_REQUIRE_NODE=1, as CI sets).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "webui" / "static" / "vendor" / "elevflow-modeler"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None or shutil.which("npm") is None:
        if os.environ.get("ELEVFLOW_TEST_REQUIRE_NODE") == "1":
            pytest.fail("Node.js and npm are needed to rebuild the editor bundle")
        pytest.skip("Node.js is not installed")
    if not (ROOT / "node_modules" / "esbuild").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=ROOT, check=True)
    return found


def test_the_committed_bundle_is_what_the_build_makes(node, tmp_path):
    subprocess.run([node, str(ROOT / "scripts" / "build-modeler.mjs")], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "ELEVFLOW_MODELER_OUT": str(tmp_path)})
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in BUNDLE.iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (BUNDLE / name).read_bytes(), f"{name} is stale: rebuild it"
    assert 'style="' not in (BUNDLE / "modeler.min.js").read_text(encoding="utf-8")
    assert "bpmn-js-properties-panel" in (BUNDLE / "VERSION").read_text(encoding="utf-8")
