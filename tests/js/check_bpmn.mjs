// Reads BPMN files the way bpmn-js does (bpmn-moddle) and reports, per file, the import warnings and
// every element that has no shape or edge in the diagram (so it would not be drawn). One JSON line each.
import { readFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';

const moddle = new BpmnModdle();

function drawable(container, found) {
  for (const element of container.flowElements || []) {
    found.push(element);
    if (element.flowElements) drawable(element, found);
  }
  for (const laneSet of container.laneSets || []) {
    for (const lane of laneSet.lanes || []) found.push(lane);
  }
  return found;
}

for (const path of process.argv.slice(2)) {
  const { rootElement, warnings } = await moddle.fromXML(readFileSync(path, 'utf8'));
  const elements = [];
  for (const root of rootElement.rootElements || []) {
    if (root.$type === 'bpmn:Process') drawable(root, elements);
    if (root.$type === 'bpmn:Collaboration') elements.push(...(root.participants || []));
  }
  const drawn = new Set();
  for (const diagram of rootElement.diagrams || []) {
    for (const item of diagram.plane.planeElement || []) {
      if (item.bpmnElement) drawn.add(item.bpmnElement.id);
    }
  }
  const missing = elements.filter((e) => !drawn.has(e.id)).map((e) => `${e.$type} ${e.id}`);
  console.log(JSON.stringify({ path, warnings: warnings.map((w) => w.message), missing,
                               elements: elements.length }));
}
