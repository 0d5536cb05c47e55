// `npm run bench` runs every package benchmark; `npm run bench -- <name>` those whose name contains
// <name>; `npm run bench:stack` (`--stack`) the ones in e2e/bench/, which start the whole platform.
// A benchmark is a file `*.bench.ts` under bench/, libs/*/bench/, services/*/bench/ or e2e/bench/,
// run in its own process; each writes its figures to bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const dirs = [path.join(root, 'bench')];
for (const group of ['libs', 'services', 'clients']) {
  const g = path.join(root, group);
  if (!existsSync(g)) continue;
  for (const pkg of readdirSync(g)) dirs.push(path.join(g, pkg, 'bench'));
}
dirs.push(path.join(root, 'e2e', 'bench'));
const stack = process.argv[2] === '--stack';
const filter = stack ? undefined : process.argv[2];
const files = dirs
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.bench.ts')).map((f) => path.join(d, f)))
  .filter((f) => !filter || path.basename(f).includes(filter))
  // The stack benchmarks start the whole platform: they run with `npm run bench:stack` (or by name).
  .filter((f) => (stack ? f.includes(`${path.sep}e2e${path.sep}`) : filter || !f.includes(`${path.sep}e2e${path.sep}`)));
if (files.length === 0) {
  console.error(`no benchmark matches "${filter}"`);
  process.exit(1);
}
let failed = 0;
for (const f of [...new Set(files)]) {
  console.log(`\n=== ${path.relative(root, f)}`);
  const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), f], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
