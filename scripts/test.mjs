#!/usr/bin/env node
// `npm test`: every test of the repository against the real RabbitMQ, PostgreSQL and Bubblewrap.
// Two phases: the packages' tests in parallel, then e2e/ one file at a time (the e2e suite starts the
// whole platform and, in its fault tests, restarts the broker: nothing else may run beside it).
// Extra arguments go to jest in both phases, e.g. `npm test -- libs/bus` (a path filter).
// The last line printed is "N passed, N failed[, N skipped]".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jest = createRequire(import.meta.url).resolve('jest/bin/jest');
const args = process.argv.slice(2);
const outDir = path.join(root, '.ci', 'results');
mkdirSync(outDir, { recursive: true });

const phases = [
  { name: 'packages', flags: ['--selectProjects', 'packages'] },
  { name: 'e2e', flags: ['--selectProjects', 'e2e', '--runInBand'] },
];
const totals = { passed: 0, failed: 0, skipped: 0 };
let status = 0;
for (const phase of phases) {
  const out = path.join(outDir, `${phase.name}.json`);
  rmSync(out, { force: true });
  console.log(`\n=== npm test: ${phase.name}`);
  const r = spawnSync(process.execPath, [jest, ...phase.flags, '--json', `--outputFile=${out}`, '--passWithNoTests', ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
  if (!existsSync(out)) {
    totals.failed++;
    continue;
  }
  const res = JSON.parse(readFileSync(out, 'utf8'));
  // A file that failed before running a test (a syntax error, a crash in beforeAll) counts as a failure.
  const brokenFiles = res.testResults.filter((f) => f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed')).length;
  totals.passed += res.numPassedTests;
  totals.failed += res.numFailedTests + brokenFiles;
  totals.skipped += res.numPendingTests + res.numTodoTests;
}
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(status || (totals.failed ? 1 : 0));
