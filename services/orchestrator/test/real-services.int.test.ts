import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SessionEventV1, SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, spawnTs, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { connectClient, startOrchestrator } from './harness';

// The orchestrator with the real workspace and shell services (their main.ts, as processes): a real
// copy of a project folder, a real Bubblewrap jail. The lifecycle end to end, a restart of the
// orchestrator that keeps the jail and its shell state, and a failing shell.open that undoes the
// workspace.
let broker: TestBroker;
let db: TestDatabase;
let orch: ServiceProcess;
let workspace: ServiceProcess;
let shell: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
let project: string;
let dataDir: string;
const req = <T>(name: string, payload: unknown) => (client.bus.request as any)(name, payload, { timeoutMs: 30_000 }) as Promise<T>;
const exec = (sessionId: string, command: string) => req<{ exitCode: number; stdout: string; stderr: string }>('orchestrator.session.exec', { sessionId, command });
// shell.open waits 8 s: a stopped shell service leaves its queue, so the request waits there until then.
const orchEnv = (id: string) => ({ RABBITMQ_URL: broker.url, ...db.env, INSTANCE_ID: id, ORCHESTRATOR_RECONCILE_MS: '0', ORCHESTRATOR_TASKS_SYNC_MS: '0', ORCHESTRATOR_SHELL_OPEN_TIMEOUT_MS: '8000' });

async function startService(name: 'workspace' | 'shell'): Promise<ServiceProcess> {
  // Each keeps its own SQLite file under the shared DATA_DIR; the orchestrator's database is apart.
  // The shell keeps no jail at its stop, nor the workspace service a mount: the data folder goes with
  // the test, and a run that fails before closing its sessions would leave their jails running.
  const keepNothing: Record<string, string> = name === 'shell' ? { SHELL_KEEP_JAILS: 'false' } : { WORKSPACE_UNMOUNT_ON_STOP: 'true' };
  const p = spawnTs(`services/${name}/src/main.ts`, { RABBITMQ_URL: broker.url, DATA_DIR: dataDir, INSTANCE_ID: `${name}-test`, [`${name.toUpperCase()}_PORT`]: '0', ...keepNothing });
  await waitFor(`${name} to start`, () => {
    if (p.child.exitCode !== null) throw new Error(`${name} exited: ${p.output().slice(-3000)}`);
    return p.output().includes('"service started"');
  }, { timeoutMs: 60_000, intervalMs: 100 });
  return p;
}

beforeAll(async () => {
  broker = await createTestBroker('orch-real');
  db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-real');
  dataDir = mkdtempSync(path.join(tmpdir(), 'orch-real-data-'));
  project = mkdtempSync(path.join(tmpdir(), 'orch-real-project-'));
  writeFileSync(path.join(project, 'hello.txt'), 'hello from the project\n');
  client = await connectClient(broker.url);
  [workspace, shell] = await Promise.all([startService('workspace'), startService('shell')]);
  orch = await startOrchestrator(orchEnv('orch-real-1'));
}, 120_000);

afterAll(async () => {
  await Promise.all([orch?.stop(), workspace?.stop(), shell?.stop()]);
  await client?.bus.close(500);
  await broker?.dispose();
  await db?.dispose();
  for (const d of [dataDir, project]) if (d) rmSync(d, { recursive: true, force: true });
});

/** The stored log once it holds what `done` looks for (storage trails the live stream by a batch). */
const storedLog = (sessionId: string, done: (log: SessionEventV1[]) => boolean) =>
  waitFor('the log stored', async () => {
    const log = (await req<{ events: SessionEventV1[] }>('orchestrator.session.events', { sessionId, since: 0, limit: 1000 })).events;
    return done(log) ? log : undefined;
  }, { timeoutMs: 20_000, intervalMs: 50 });
const closedIn = (log: SessionEventV1[]) => log.some((e) => e.kind === 'status' && e.data.to === 'closed');

test('a session on a copy of a project folder in a real jail: commands keep their state, close ends jail and workspace', async () => {
  const s = await req<SessionV1>('orchestrator.session.create', { source: { path: project }, owner: 'ann' });
  expect(s).toMatchObject({ status: 'ready', workspaceId: expect.any(String), shellInstanceId: 'shell-test' });
  expect((await exec(s.id, 'cat hello.txt')).stdout).toBe('hello from the project\n');
  expect((await exec(s.id, 'mkdir -p sub && cd sub && export X=42 && echo changed > ../hello.txt')).exitCode).toBe(0);
  const r = await exec(s.id, 'basename "$PWD"; echo "$X"');
  expect(r.stdout).toBe('sub\n42\n');
  expect((await exec(s.id, 'exit 3')).exitCode).toBe(3);

  const closed = await req<SessionV1>('orchestrator.session.close', { sessionId: s.id });
  expect(closed.status).toBe('closed');
  const log = await storedLog(s.id, closedIn);
  expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  expect(log.filter((e) => e.kind === 'output').map((e) => (e.data as { data: string }).data).join('')).toContain('hello from the project\n');
  expect(log.filter((e) => e.kind === 'command.completed').map((e) => (e.data as { exitCode: number }).exitCode)).toEqual([0, 0, 0, 3]);
  // The copy was changed, never the project; the jail and the copy are gone.
  expect(await req('shell.list', {}).then((l: any) => l.sessions.map((x: { sessionId: string }) => x.sessionId))).not.toContain(s.id);
  expect(await req('workspace.get', { workspaceId: s.workspaceId }).catch((e: { code: string }) => e.code)).toBe('NOT_FOUND');
  expect(require('node:fs').readFileSync(path.join(project, 'hello.txt'), 'utf8')).toBe('hello from the project\n');
}, 90_000);

test('an orchestrator restart keeps the session and its jail, with the shell state it had', async () => {
  const s = await req<SessionV1>('orchestrator.session.create', { source: { path: project }, owner: 'bob' });
  await exec(s.id, 'export KEPT=yes; cd /tmp');
  expect(await orch.stop()).toBe(0);
  orch = await startOrchestrator(orchEnv('orch-real-2'));
  expect((await exec(s.id, 'echo "$KEPT $PWD"')).stdout).toBe('yes /tmp\n');
  await req('orchestrator.session.close', { sessionId: s.id });
  // One log across the restart: the jail kept numbering it, the new replica closed it after the jail's last seq.
  const log = await storedLog(s.id, closedIn);
  expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
}, 120_000);

test('when the jail cannot be opened (no shell service), the prepared workspace is removed and the session failed', async () => {
  expect(await shell.stop()).toBe(0);
  const err = await req('orchestrator.session.create', { source: { path: project }, owner: 'carl' }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'SERVICE_TIMEOUT', message: expect.stringContaining('shell did not answer shell.open') });
  const { sessions } = await req<{ sessions: SessionV1[] }>('orchestrator.session.list', { owner: 'carl', includeEnded: true });
  expect(sessions[0]).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('opening the jail failed') });
  expect(await req('workspace.get', { workspaceId: sessions[0]!.workspaceId }).catch((e: { code: string }) => e.code)).toBe('NOT_FOUND');
}, 60_000);
