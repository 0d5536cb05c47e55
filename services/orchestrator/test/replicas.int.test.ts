import type { SessionEventV1, SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { TestShell, TestWorkspace } from './fake-services';
import { connectClient, startOrchestrator } from './harness';

// Two orchestrator replicas on one broker and one database, as a team deployment runs them. Requests
// land on either (competing consumers); session work is forwarded to the replica that owns the
// session. Then one replica dies without warning, and the other adopts its sessions: commands keep
// working and every session's log stays gapless, in order, without duplicates.
let broker: TestBroker;
let db: TestDatabase;
let ws: TestWorkspace;
let shell: TestShell;
let a: ServiceProcess;
let b: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
const env = (id: string) => ({ RABBITMQ_URL: broker.url, ...db.env, INSTANCE_ID: id, ORCHESTRATOR_RECONCILE_MS: '300', ORCHESTRATOR_TASKS_SYNC_MS: '0' });
const req = <T>(name: string, payload: unknown) => (client.bus.request as any)(name, payload, { timeoutMs: 20_000 }) as Promise<T>;
const events = (sessionId: string) => req<{ events: SessionEventV1[] }>('orchestrator.session.events', { sessionId, since: 0, limit: 10_000 }).then((r) => r.events);
const outputs = (log: SessionEventV1[]) => log.filter((e) => e.kind === 'output').map((e) => (e.data as { data: string }).data);

/** The service's own node process: tsx runs it as a child, so killing tsx alone would orphan it. */
const pidOf = (p: ServiceProcess) => Number(/"pid":(\d+)/.exec(p.output())?.[1]);

beforeAll(async () => {
  broker = await createTestBroker('orch-replicas');
  db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-replicas');
  ws = await TestWorkspace.start(broker.url);
  shell = await TestShell.start(broker.url);
  client = await connectClient(broker.url);
  [a, b] = await Promise.all([startOrchestrator(env('orch-a')), startOrchestrator(env('orch-b'))]);
}, 90_000);

afterAll(async () => {
  if (process.env.ORCH_LOG_FILE) require('node:fs').writeFileSync(process.env.ORCH_LOG_FILE, `${a?.output()}\n=== b\n${b?.output()}`);
  await Promise.all([a?.stop(), b?.stop()]);
  await client?.bus.close(500);
  await shell?.stop();
  await ws?.stop();
  await broker?.dispose();
  await db?.dispose();
});

test('with two replicas, sessions work from either; when one dies the other adopts its sessions and their logs stay whole', async () => {
  const sessions: SessionV1[] = [];
  for (let i = 0; i < 6; i++) sessions.push(await req<SessionV1>('orchestrator.session.create', { source: { kind: 'empty' }, owner: `u${i}` }));
  // Several commands per session, each landing on either replica.
  for (const s of sessions) for (const n of [1, 2, 3]) expect((await req<{ stdout: string }>('orchestrator.session.exec', { sessionId: s.id, command: `before ${n}` })).stdout).toBe(`before ${n}\n`);
  for (const s of sessions) expect(outputs(await events(s.id))).toEqual(['before 1\n', 'before 2\n', 'before 3\n']);
  // Everything a client saw live is stored, so nothing it saw can be lost with the replica.
  await waitFor('the live streams to catch up', async () => {
    for (const s of sessions) if (client.live.filter((e) => e.sessionId === s.id).length < (await events(s.id)).length) return false;
    return true;
  });

  process.kill(pidOf(a), 'SIGKILL');
  await a.stop();
  await waitFor('orch-b to adopt the sessions of orch-a', () => b.output().includes('session adopted from a replica that is gone'), { timeoutMs: 20_000 });

  for (const s of sessions) {
    expect((await req<{ stdout: string }>('orchestrator.session.exec', { sessionId: s.id, command: 'after' })).stdout).toBe('after\n');
    const log = await events(s.id);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(outputs(log)).toEqual(['before 1\n', 'before 2\n', 'before 3\n', 'after\n']);
    expect((await req<SessionV1>('orchestrator.session.close', { sessionId: s.id })).status).toBe('closed');
  }
  expect(shell.jails.size).toBe(0);
}, 120_000);
