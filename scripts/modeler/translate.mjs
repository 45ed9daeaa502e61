// The editor's `translate` service (bpmn-js's i18n hook: its palette, context pad, popup menus and the
// properties panel say every text through it): the text in the page's language (config.elevflow.language),
// from translations/<language>.json, with bpmn-js's own English for English and for any text a
// dictionary lacks. Texts asked for that the dictionary lacks are kept in `translate.missing`, so a test
// can find what a new bpmn-js release added.
import sv from './translations/sv.json';

const DICTIONARIES = { sv };

export default function Translate(config) {
  const dictionary = DICTIONARIES[(config && config.language) || 'en'];
  const missing = new Set();
  function translate(template, replacements) {
    let text = template;
    if (dictionary) {
      if (Object.prototype.hasOwnProperty.call(dictionary, template)) {
        text = dictionary[template];
      } else {
        missing.add(template);
      }
    }
    const values = replacements || {};
    return text.replace(/{([^}]+)}/g, (_, key) => (values[key] !== undefined ? String(values[key]) : `{${key}}`));
  }
  translate.missing = missing;
  return translate;
}

Translate.$inject = [ 'config.elevflow' ];
