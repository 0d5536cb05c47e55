#!/usr/bin/env node
// Prints (or, with --write, puts into docs/configuration.md) every environment variable the services
// read, from their env schemas: the doc comment above each variable is its meaning, the schema's
// default its default. `npm run env-doc -- --check` fails when the checked-in file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = [
  ['every service', 'libs/config/src/index.ts'],
  ['every service with a database', 'libs/db/src/env.ts'],
  ['gateway', 'services/gateway/src/env.ts'],
  ['orchestrator', 'services/orchestrator/src/env.ts'],
  ['orchestrator', 'services/orchestrator/src/agents/agent-env.ts'],
  ['workspace', 'services/workspace/src/env.ts'],
  ['shell', 'services/shell/src/env.ts'],
  ['analytics', 'services/analytics/src/env.ts'],
  ['project-ci', 'services/project-ci/src/env.ts'],
];

/** `NAME: schema,` lines of an env shape, each with the `/** ... *\/` comment right above it. */
function variables(file) {
  const text = readFileSync(path.join(root, file), 'utf8');
  const out = [];
  const re = /^[ \t]*([A-Z][A-Z0-9_]+):[ \t]*([^\n]+)/gm;
  for (let m; (m = re.exec(text)); ) {
    const before = text.slice(0, m.index).trimEnd();
    const comment = before.endsWith('*/') ? before.slice(before.lastIndexOf('/**') + 3, -2) : '';
    const meaning = comment.replace(/\n\s*\*\s?/g, ' ').replace(/\s+/g, ' ').trim();
    out.push({ name: m[1], meaning, default: DEFAULTS[m[1]] ?? defaultOf(m[2]) });
  }
  return out;
}

/** Defaults computed at start, shown as what they become. */
const DEFAULTS = { DATA_DIR: "'./data (under the working folder)'", INSTANCE_ID: "'<host>-<pid>'", PROJECT_CI_AUTH: "'team with GATEWAY_AUTH_MODE=team, else none'" };

function defaultOf(schema) {
  const int = /^env(?:Int|Bool)\(([^,)]+)/.exec(schema);
  if (int) return int[1].replace(/_/g, '');
  const def = /\.default\(([^)]*(?:\([^)]*\))?[^)]*)\)/.exec(schema);
  if (def) return def[1];
  return /\.optional\(\)/.test(schema) ? 'unset' : '';
}

function evaluate(expr) {
  // Defaults written as arithmetic (30 * 60_000) are shown as their value; anything else as written.
  if (/^[\d\s*+_.()-]+$/.test(expr)) return String(Function(`return (${expr.replace(/_/g, '')})`)());
  return expr.replace(/^'(.*)'$/, '$1');
}

const seen = new Set();
const lines = [
  '# Configuration',
  '',
  'Every environment variable the services read, generated from their env schemas by',
  '`node scripts/env-doc.mjs --write` (CI checks it is current). A value that fails its schema stops the',
  'service at start with a message naming the variable.',
  '',
  '| variable | read by | default | meaning |',
  '| --- | --- | --- | --- |',
];
for (const [who, file] of sources) {
  for (const v of variables(file)) {
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    const d = v.default === '' ? '' : v.default === 'unset' ? 'unset' : `\`${evaluate(v.default)}\``;
    lines.push(`| \`${v.name}\` | ${who} | ${d} | ${v.meaning.replace(/\|/g, '\\|')} |`);
  }
}
const doc = lines.join('\n') + '\n';
const target = path.join(root, 'docs/configuration.md');
if (process.argv.includes('--write')) writeFileSync(target, doc);
else if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== doc) {
    console.error('docs/configuration.md is out of date: run `node scripts/env-doc.mjs --write`');
    process.exit(1);
  }
} else process.stdout.write(doc);
