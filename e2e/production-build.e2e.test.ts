// The production build (issue 25): `npm run build` compiles every service to services/<name>/dist, and
// the whole platform started from those files alone, with plain node and no tsx, answers: every
// service reports to the gateway's /health, a session opens and runs a command through REST.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ServiceNames } from '@codeagent/contracts';
import { REPO_ROOT, startStack, type Stack } from '@codeagent/testing';
import { closeSession, ok, openSession } from './bench/client';

const run = promisify(execFile);
let stack: Stack;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build-services.mjs'], { cwd: REPO_ROOT });
  stack = await startStack({ label: 'e2e-build', fromBuild: true });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

test('every service runs its compiled file with plain node', () => {
  for (const service of ServiceNames) {
    const pid = stack.procs.get(service)!.child.pid!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(argv.slice(1)).toEqual([`${REPO_ROOT}/services/${service}/dist/main.js`]);
  }
});

test('a session opens and runs a command through REST', async () => {
  const session = await openSession(stack.url);
  const r = await ok(stack.url, 'POST', `/api/v1/sessions/${session.id}/exec`, { command: 'echo from-the-build; exit 4' });
  expect(r).toMatchObject({ stdout: 'from-the-build\n', exitCode: 4 });
  await closeSession(stack.url, session.id);
}, 60_000);
