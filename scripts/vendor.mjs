// Copies the front-end files Elevflow serves from their npm packages into webui/static/vendor/, each
// with the package's licence and a VERSION file, so the app needs neither npm nor a CDN at run time.
// Run after changing package.json: `npm ci && node scripts/vendor.mjs` (tests/web check the result).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'webui', 'static', 'vendor');

const packages = {
  'htmx.org': ['dist/htmx.min.js'],
  'bpmn-js': ['dist/bpmn-navigated-viewer.production.min.js', 'dist/assets/diagram-js.css',
              'dist/assets/bpmn-js.css', 'dist/assets/bpmn-font/css/bpmn.css',
              'dist/assets/bpmn-font/font/bpmn.woff2', 'dist/assets/bpmn-font/font/bpmn.woff'],
};

for (const [name, files] of Object.entries(packages)) {
  const from = join(root, 'node_modules', name);
  const meta = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8'));
  const to = join(target, name);
  rmSync(to, { recursive: true, force: true });
  for (const file of [...files, 'LICENSE']) {
    const dest = join(to, file.replace(/^dist\//, ''));
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(join(from, file), dest);
  }
  writeFileSync(join(to, 'VERSION'), `${meta.name} ${meta.version} (${meta.license})\n`);
  console.log(`vendored ${meta.name} ${meta.version}`);
}

// The modeler with its properties panel is ESM and needs bundling: scripts/build-modeler.mjs does it.
await import('./build-modeler.mjs');
