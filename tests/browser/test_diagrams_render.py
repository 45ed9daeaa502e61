"""Every shipped diagram opens in bpmn-js (the vendored viewer) in a real browser and draws every element."""
from __future__ import annotations

from pathlib import Path

import pytest

from elevflow.engine import settings

from .conftest import ROOT, screenshot

VIEWER = ROOT / "webui" / "static" / "vendor" / "bpmn-js"
SHIPPED = sorted(Path(settings.load().processes_dir).rglob("*.bpmn"))
RENDER = """async (xml) => {
  const viewer = new BpmnJS({ container: '#canvas' });
  try {
    const { warnings } = await viewer.importXML(xml);
    viewer.get('canvas').zoom('fit-viewport');
    const registry = viewer.get('elementRegistry');
    return { error: null, warnings: warnings.map((w) => w.message),
             drawn: registry.getAll().filter((e) => e.type !== 'bpmn:Process' && e.type !== 'label').length };
  } catch (error) {
    return { error: String(error), warnings: [], drawn: 0 };
  }
}"""


@pytest.mark.parametrize("diagram", SHIPPED, ids=lambda p: p.stem)
def test_a_shipped_diagram_opens_in_bpmn_js(page, diagram):
    page.set_content('<!doctype html><html><body><div id="canvas" style="width:1600px;height:900px">'
                     '</div></body></html>')
    for css in ("diagram-js.css", "bpmn-js.css"):
        page.add_style_tag(path=str(VIEWER / "assets" / css))
    page.add_script_tag(path=str(VIEWER / "bpmn-navigated-viewer.production.min.js"))
    result = page.evaluate(RENDER, diagram.read_text(encoding="utf-8"))
    assert result["error"] is None and result["warnings"] == [], result
    ids = diagram.read_text(encoding="utf-8").count("<bpmndi:BPMNShape") + \
        diagram.read_text(encoding="utf-8").count("<bpmndi:BPMNEdge")
    assert result["drawn"] >= ids - 1  # every shape and edge of the DI (less the pool's own process)
    assert page.locator(".djs-shape, .djs-connection").count() >= ids - 1
    screenshot(page, f"diagram-{diagram.stem}")
