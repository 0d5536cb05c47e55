// The production build (issue 25): `npm run build` compiles every service to services/<name>/dist, and
// the whole platform started from those files alone, with plain node and no tsx, answers: every
// service reports to the gateway's /health, a session opens and runs a command through REST, and the
// parts that load differently from a bundle work: docs/TASKS.md parsed with remark (ESM-only, through
// require(esm)), an agent run through the AI SDK, and analytics' compiled writer thread counting it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ServiceNames } from '@codeagent/contracts';
import { REPO_ROOT, startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { closeSession, ok, openSession, type Rec } from './bench/client';

const run = promisify(execFile);
let stack: Stack;
let llm: FakeLlm;
let projectDir: string;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build-services.mjs'], { cwd: REPO_ROOT });
  llm = await startFakeLlm();
  projectDir = mkdtempSync(path.join(tmpdir(), 'e2e-build-project-'));
  mkdirSync(path.join(projectDir, 'docs'));
  writeFileSync(path.join(projectDir, 'docs', 'TASKS.md'), '# Tasks\n\n- [ ] Ship from the build\n- [x] Compile the services\n');
  stack = await startStack({ label: 'e2e-build', fromBuild: true, env: { ORCHESTRATOR_TASKS_SYNC_MS: '1000' } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await llm?.close();
  rmSync(projectDir, { recursive: true, force: true });
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

test('a project’s TASKS.md becomes tasks, and an agent run is counted by analytics', async () => {
  const project = await ok(stack.url, 'POST', '/api/v1/projects', { name: 'built', source: { path: projectDir } });
  const tasks = await waitFor('the TASKS.md items as tasks', async () => {
    const mine = ((await ok(stack.url, 'GET', '/api/v1/tasks')).tasks as Rec[]).filter((t) => t.projectId === project.id);
    return mine.length === 2 ? mine : undefined;
  }, { timeoutMs: 30_000 });
  expect(tasks.map((t) => [t.title, t.status]).sort()).toEqual([['Compile the services', 'done'], ['Ship from the build', 'todo']]);

  await ok(stack.url, 'PUT', '/api/v1/providers/openai', { projectId: project.id, baseURL: llm.openaiBaseURL, apiKey: 'sk-e2e-build' });
  await ok(stack.url, 'PUT', '/api/v1/agents/coding', { projectId: project.id, config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });
  llm.push(
    { toolCalls: [{ name: 'write_file', args: { path: 'built.txt', content: 'from the build\n' } }], usage: { inputTokens: 300, outputTokens: 20 } },
    { text: 'Done.', usage: { inputTokens: 400, outputTokens: 3 } },
  );
  const session = await ok(stack.url, 'POST', '/api/v1/sessions', { projectId: project.id });
  const started = await ok(stack.url, 'POST', `/api/v1/sessions/${session.id}/agent`, { prompt: 'write built.txt', roles: ['coding'] });
  const agentRun = await waitFor('the run to end', async () => {
    const r = await ok(stack.url, 'GET', `/api/v1/agent-runs/${started.runId}`);
    return r.status === 'running' ? undefined : r;
  }, { timeoutMs: 60_000 });
  expect(agentRun).toMatchObject({ status: 'completed', usage: { inputTokens: 700, outputTokens: 23 } });
  expect(await ok(stack.url, 'GET', `/api/v1/sessions/${session.id}/files?path=built.txt`)).toMatchObject({ content: 'from the build\n' });
  await waitFor('analytics to count the run', async () => {
    const rows = (await ok(stack.url, 'GET', '/api/v1/analytics/usage?groupBy=model')).rows as Rec[] | undefined;
    return rows?.some((r) => (r.key?.model ?? r.model) === 'gpt-4.1' && r.inputTokens === 700);
  }, { timeoutMs: 30_000 });
  await closeSession(stack.url, session.id);
}, 120_000);

test('the gateway’s admin command runs from the build against the running gateway’s store', async () => {
  const admin = (...args: string[]) => run(process.execPath, ['services/gateway/dist/admin.js', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...stack.env } });
  await admin('create-user', 'built-admin', '--role', 'admin');
  expect((await admin('list-users')).stdout).toMatch(/built-admin.*admin/);
});
