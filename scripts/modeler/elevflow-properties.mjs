// The "Elevflow" group of the properties panel: what the engine reads from a diagram (engine/specs.py
// task_meta, engine/roles.py, engine/validation.py). A lane's name is its role; a user task carries
// spiffworkflow:properties (formJsonSchemaFilename, dueRule, dueFrom, assigneeFrom, decision, nonDelegable,
// personal, cancelGrounds) and spiffworkflow:instructionsForEndUser; the routine's process (the diagram
// itself, or its pool) its own properties (caseSubject, visibleTo); a flow leaving a gateway its
// condition, a script task its script (the panel's own providers edit those only for Camunda). Labels,
// roles, cancel grounds and form names come from the page (config.elevflow).
import { CheckboxEntry, SelectEntry, TextAreaEntry, TextFieldEntry } from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

// Whose properties the element shows: a pool's are its process's (the routine's own properties).
function owner(element) {
  const bo = getBusinessObject(element);
  return is(element, 'bpmn:Participant') && bo.get('processRef') ? bo.get('processRef') : bo;
}

function extension(element, type) {
  const ext = owner(element).get('extensionElements');
  return ext ? ext.get('values').find((value) => is(value, type)) : undefined;
}

export function getProperty(element, name) {
  const props = extension(element, 'spiffworkflow:Properties');
  const found = props && props.get('properties').find((p) => p.name === name);
  return found ? found.value || '' : '';
}

function ensureExtension(element, type, attrs, services) {
  const { modeling, bpmnFactory } = services;
  const bo = owner(element);
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  }
  let found = ext.get('values').find((value) => is(value, type));
  if (!found) {
    found = bpmnFactory.create(type, attrs);
    found.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [ ...ext.get('values'), found ] });
  }
  return found;
}

export function setProperty(element, name, value, services) {
  const { modeling, bpmnFactory } = services;
  const props = value ? ensureExtension(element, 'spiffworkflow:Properties', { properties: [] }, services)
    : extension(element, 'spiffworkflow:Properties');
  if (!props) return;
  const existing = props.get('properties').find((p) => p.name === name);
  if (!value) {
    if (existing) {
      modeling.updateModdleProperties(element, props,
        { properties: props.get('properties').filter((p) => p !== existing) });
    }
  } else if (existing) {
    modeling.updateModdleProperties(element, existing, { value });
  } else {
    const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
    created.$parent = props;
    modeling.updateModdleProperties(element, props, { properties: [ ...props.get('properties'), created ] });
  }
}

function setInstructions(element, value, services) {
  const { modeling } = services;
  if (!value && !extension(element, 'spiffworkflow:InstructionsForEndUser')) return;
  const found = ensureExtension(element, 'spiffworkflow:InstructionsForEndUser', { value: '' }, services);
  modeling.updateModdleProperties(element, found, { value });
}

function useServices() {
  return { modeling: useService('modeling'), bpmnFactory: useService('bpmnFactory'),
    debounce: useService('debounceInput'), config: useService('config.elevflow') || {} };
}

function labels(config) {
  return config.labels || {};
}

function PropertyText({ element, id, name, multiline }) {
  const s = useServices();
  const label = labels(s.config)[name] || name;
  const Entry = multiline ? TextAreaEntry : TextFieldEntry;
  return h(Entry, { element, id, label, debounce: s.debounce,
    description: labels(s.config)[name + '_help'],
    getValue: () => getProperty(element, name),
    setValue: (value) => setProperty(element, name, (value || '').trim(), s) });
}

function Form({ element, id }) {
  const s = useServices();
  const forms = s.config.forms || [];
  return h(SelectEntry, { element, id, label: labels(s.config).formJsonSchemaFilename || 'Form',
    getValue: () => getProperty(element, 'formJsonSchemaFilename'),
    setValue: (value) => setProperty(element, 'formJsonSchemaFilename', value, s),
    getOptions: () => [ { value: '', label: labels(s.config).none || '–' },
      ...forms.map((name) => ({ value: name, label: name })) ] });
}

function NonDelegable({ element, id }) {
  const s = useServices();
  return h(CheckboxEntry, { element, id, label: labels(s.config).nonDelegable || 'nonDelegable',
    getValue: () => getProperty(element, 'nonDelegable') === 'true',
    setValue: (value) => setProperty(element, 'nonDelegable', value ? 'true' : '', s) });
}

function Personal({ element, id }) {
  const s = useServices();
  return h(CheckboxEntry, { element, id, label: labels(s.config).personal || 'personal',
    description: labels(s.config).personal_help,
    getValue: () => getProperty(element, 'personal') === 'true',
    setValue: (value) => setProperty(element, 'personal', value ? 'true' : '', s) });
}

// One checkbox per ground the engine knows (engine/specs.py CANCEL_GROUNDS), kept as a space-separated list.
function CancelGround({ element, id, ground }) {
  const s = useServices();
  const chosen = () => getProperty(element, 'cancelGrounds').split(/\s+/).filter(Boolean);
  return h(CheckboxEntry, { element, id, label: ground.label,
    getValue: () => chosen().includes(ground.key),
    setValue: (value) => {
      const others = chosen().filter((key) => key !== ground.key);
      setProperty(element, 'cancelGrounds', (value ? [ ...others, ground.key ] : others).join(' '), s);
    } });
}

function CaseSubject({ element, id }) {
  const s = useServices();
  const l = labels(s.config);
  return h(SelectEntry, { element, id, label: l.caseSubject || 'caseSubject', description: l.caseSubject_help,
    getValue: () => getProperty(element, 'caseSubject') || 'pupil',
    setValue: (value) => setProperty(element, 'caseSubject', value === 'unit' ? 'unit' : '', s),
    getOptions: () => [ { value: 'pupil', label: l.subject_pupil || 'pupil' },
      { value: 'unit', label: l.subject_unit || 'unit' } ] });
}

function Instructions({ element, id }) {
  const s = useServices();
  return h(TextAreaEntry, { element, id, label: labels(s.config).instructions || 'Instructions',
    debounce: s.debounce,
    getValue: () => { const found = extension(element, 'spiffworkflow:InstructionsForEndUser');
      return found ? found.value || '' : ''; },
    setValue: (value) => setInstructions(element, value, s) });
}

function LaneRole({ element, id }) {
  const s = useServices();
  const roles = s.config.roles || [];
  return h(SelectEntry, { element, id, label: labels(s.config).role || 'Role',
    getValue: () => getBusinessObject(element).name || '',
    setValue: (value) => s.modeling.updateProperties(element, { name: value }),
    getOptions: () => [ { value: '', label: labels(s.config).none || '–' },
      ...roles.map((role) => ({ value: role, label: role })) ] });
}

function Condition({ element, id }) {
  const s = useServices();
  return h(TextAreaEntry, { element, id, label: labels(s.config).condition || 'Condition',
    description: labels(s.config).condition_help, debounce: s.debounce,
    getValue: () => { const found = getBusinessObject(element).get('conditionExpression');
      return found ? found.body || '' : ''; },
    setValue: (value) => {
      const body = (value || '').trim();
      s.modeling.updateProperties(element, { conditionExpression: body
        ? s.bpmnFactory.create('bpmn:FormalExpression', { body }) : undefined });
    } });
}

function Script({ element, id }) {
  const s = useServices();
  return h(TextAreaEntry, { element, id, label: labels(s.config).script || 'Script', debounce: s.debounce,
    getValue: () => getBusinessObject(element).get('script') || '',
    setValue: (value) => s.modeling.updateProperties(element, { script: value || undefined,
      scriptFormat: getBusinessObject(element).get('scriptFormat') || 'python' }) });
}

function leavesGateway(element) {
  const source = element.source;
  return source && (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway'));
}

function isRoutine(element) {
  return is(element, 'bpmn:Process') || (is(element, 'bpmn:Participant') && !!owner(element)
    && is(owner(element), 'bpmn:Process'));
}

function entries(element, config) {
  if (isRoutine(element)) {
    return [
      { id: 'elevflow-caseSubject', component: CaseSubject },
      { id: 'elevflow-visibleTo', name: 'visibleTo',
        component: (props) => h(PropertyText, { ...props, name: 'visibleTo' }) },
    ];
  }
  if (is(element, 'bpmn:SequenceFlow') && leavesGateway(element)) {
    return [ { id: 'elevflow-condition', component: Condition } ];
  }
  if (is(element, 'bpmn:ScriptTask')) {
    return [ { id: 'elevflow-script', component: Script } ];
  }
  if (is(element, 'bpmn:Lane')) {
    return [ { id: 'elevflow-role', component: LaneRole } ];
  }
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
    const text = (name, multiline) => ({ id: `elevflow-${name}`, name,
      component: (props) => h(PropertyText, { ...props, name, multiline }) });
    return [
      { id: 'elevflow-form', component: Form },
      text('dueRule'), text('dueFrom'), text('assigneeFrom'),
      { id: 'elevflow-instructions', component: Instructions },
      text('decision'),
      { id: 'elevflow-nonDelegable', component: NonDelegable },
      { id: 'elevflow-personal', component: Personal },
      ...((config && config.cancelGrounds) || []).map((ground) => ({ id: `elevflow-cancel-${ground.key}`,
        component: (props) => h(CancelGround, { ...props, ground }) })),
    ];
  }
  return [];
}

export default function ElevflowPropertiesProvider(propertiesPanel, config) {
  this.getGroups = (element) => (groups) => {
    const found = entries(element, config);
    if (found.length) {
      const label = ((config && config.labels) || {}).group || 'Elevflow';
      groups.splice(1, 0, { id: 'elevflow', label, entries: found.map((e) => ({ ...e, element })) });
    }
    return groups;
  };
  propertiesPanel.registerProvider(500, this);
}

ElevflowPropertiesProvider.$inject = [ 'propertiesPanel', 'config.elevflow' ];
