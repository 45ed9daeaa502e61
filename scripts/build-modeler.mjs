// Builds webui/static/vendor/elevflow-modeler/: one browser bundle of the bpmn-js Modeler, its properties
// panel and Elevflow's own group (source: scripts/modeler/), with the licences of every npm package in it
// and a VERSION file. The result is committed, so the app needs neither npm nor a CDN at run time.
// Run after changing package.json or scripts/modeler/: `npm ci && node scripts/vendor.mjs` (which runs
// this too), or on its own: `node scripts/build-modeler.mjs`.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// ELEVFLOW_MODELER_OUT builds elsewhere (tests/test_modeler_bundle.py checks the committed bundle is current).
const target = process.env.ELEVFLOW_MODELER_OUT || join(root, 'webui', 'static', 'vendor', 'elevflow-modeler');
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });

// Elevflow's Content-Security-Policy allows no inline style, and a few markup strings in these packages
// carry style attributes the browser would refuse. The SVG icons get the same values as presentation
// attributes (allowed); the properties panel's container gets its height from editor.css instead.
const STYLE_ATTRIBUTE = /style="([^"]*)"/g;
const cspSafe = {
  name: 'csp-safe-markup',
  setup(esbuild) {
    esbuild.onLoad({ filter: /(AlignElementsIcons|DistributeElementsIcons)\.js$/ }, async (args) => ({
      loader: 'js',
      contents: (await readFile(args.path, 'utf8')).replace(STYLE_ATTRIBUTE, (_, css) => css.split(';')
        .filter((rule) => rule.includes(':'))
        .map((rule) => { const [ name, value ] = rule.split(':'); return `${name.trim()}="${value.trim()}"`; })
        .join(' ')),
    }));
    esbuild.onLoad({ filter: /bpmn-js-properties-panel[\\/]dist[\\/]index\.esm\.js$/ }, async (args) => ({
      loader: 'js',
      contents: (await readFile(args.path, 'utf8')).replace('<div style="height: 100%" tabindex="-1"',
        '<div tabindex="-1"'),
    }));
  },
};

const result = await build({
  entryPoints: [ join(root, 'scripts', 'modeler', 'entry.mjs') ],
  bundle: true, minify: true, format: 'iife', target: [ 'es2020' ], metafile: true,
  legalComments: 'none', outfile: join(target, 'modeler.min.js'), logLevel: 'warning',
  plugins: [ cspSafe ],
});
if (readFileSync(join(target, 'modeler.min.js'), 'utf8').includes('style="')) {
  throw new Error('the bundle still holds a style attribute, which the CSP refuses');
}

// Every npm package that ended up in the bundle, with its licence text.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
  if (!match) continue;
  const path = input.slice(0, input.lastIndexOf(match[match.length - 1]) + match[match.length - 1].length);
  packages.set(path, true);
}
const notices = [];
const versions = [];
const seen = new Set();
for (const path of [ ...packages.keys() ].sort()) {
  const meta = JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8'));
  if (seen.has(`${meta.name}@${meta.version}`)) continue;
  seen.add(`${meta.name}@${meta.version}`);
  const licence = [ 'LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license' ].map((f) => join(root, path, f))
    .find((f) => existsSync(f));
  versions.push(`${meta.name} ${meta.version} (${meta.license})`);
  notices.push(`${meta.name} ${meta.version} (${meta.license})\n\n${licence ? readFileSync(licence, 'utf8')
    : `licence: ${meta.license}`}\n`);
}
writeFileSync(join(target, 'LICENSES.txt'), notices.join('\n' + '-'.repeat(78) + '\n\n'));
writeFileSync(join(target, 'VERSION'), versions.join('\n') + '\n');
cpSync(join(root, 'node_modules', '@bpmn-io', 'properties-panel', 'dist', 'assets', 'properties-panel.css'),
  join(target, 'properties-panel.css'));
console.log(`built elevflow-modeler with ${versions.length} packages`);
