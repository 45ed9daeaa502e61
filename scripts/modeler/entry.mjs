// The source of webui/static/vendor/elevflow-modeler/modeler.min.js (built by scripts/build-modeler.mjs):
// the bpmn-js Modeler with its properties panel, the SpiffWorkflow extension elements and the Elevflow
// group, every text in the page's language (translate.mjs). Exposes
// window.ElevflowModeler.create(canvas, panel, config).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import ElevflowPropertiesProvider from './elevflow-properties.mjs';
import spiffworkflow from './spiffworkflow.json';
import Translate from './translate.mjs';

const ElevflowModule = {
  __init__: [ 'elevflowPropertiesProvider' ],
  elevflowPropertiesProvider: [ 'type', ElevflowPropertiesProvider ],
  translate: [ 'factory', Translate ],
};

function create(canvas, panel, config) {
  return new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: panel },
    additionalModules: [ BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, ElevflowModule ],
    moddleExtensions: { spiffworkflow },
    elevflow: config || {},
  });
}

window.ElevflowModeler = { create };
