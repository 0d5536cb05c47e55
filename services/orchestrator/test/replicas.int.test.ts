import type { SessionEventV1, SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, management, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { TestShell, TestWorkspace } from './fake-services';
import { connectClient, startOrchestrator } from './harness';

// Two orchestrator replicas on one broker and one database, as a team deployment runs them. Requests
// land on either (competing consumers); session work is forwarded to the replica that owns the
// session. The session log is stored from one shared queue that one replica consumes at a time. Then
// that replica dies without warning, and the other adopts its sessions and takes over the storing:
// commands keep working and every session's stored log is what clients saw live, each seq once.
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
const live = (sessionId: string) => client.live.filter((e) => e.sessionId === sessionId);
/** The stored log, once storage has caught up with what was seen live (it trails it by a batch). */
async function stored(sessionId: string): Promise<SessionEventV1[]> {
  const last = () => Math.max(0, ...live(sessionId).map((e) => e.seq));
  return waitFor('storage to catch up with the live stream', async () => {
    const log = await events(sessionId);
    return log.length > 0 && log.at(-1)!.seq === last() ? log : undefined;
  }, { timeoutMs: 20_000, intervalMs: 50 });
}
/** The replica whose connection holds the log queue's single active consumer ('' while the broker's statistics do not say yet). */
async function activeStorer(): Promise<string> {
  const q = (await management('GET', `/queues/${encodeURIComponent(broker.vhost)}/codeagent.orchestrator-log.events`)) as { consumer_details?: Array<{ activity_status: string; channel_details: { connection_name: string } }> };
  const active = q.consumer_details?.find((c) => c.activity_status === 'single_active');
  if (!active) return '';
  const conn = (await management('GET', `/connections/${encodeURIComponent(active.channel_details.connection_name)}`)) as { client_properties?: { connection_name?: string } } | undefined;
  return /^orchestrator:(.+)$/.exec(conn?.client_properties?.connection_name ?? '')?.[1] ?? '';
}
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

test('with two replicas, sessions work from either; when the one storing the log dies the other adopts its sessions, takes over the storing, and every log is whole', async () => {
  const sessions: SessionV1[] = [];
  for (let i = 0; i < 6; i++) sessions.push(await req<SessionV1>('orchestrator.session.create', { source: { kind: 'empty' }, owner: `u${i}` }));
  // Several commands per session, each landing on either replica.
  for (const s of sessions) for (const n of [1, 2, 3]) expect((await req<{ stdout: string }>('orchestrator.session.exec', { sessionId: s.id, command: `before ${n}` })).stdout).toBe(`before ${n}\n`);
  // What a client saw live is what is stored: every seq once, in order.
  for (const s of sessions) {
    const log = await stored(s.id);
    expect(outputs(log)).toEqual(['before 1\n', 'before 2\n', 'before 3\n']);
    expect(log).toEqual(live(s.id));
  }

  // Kill the replica storing the log (the other stands by on the same queue).
  const storer = await waitFor('the broker to report the active consumer', () => activeStorer(), { timeoutMs: 20_000, intervalMs: 500 });
  expect(['orch-a', 'orch-b']).toContain(storer);
  const [dead, survivor] = storer === 'orch-a' ? [a, b] : [b, a];
  process.kill(pidOf(dead), 'SIGKILL');
  await dead.stop();
  await waitFor('the survivor to adopt the sessions of the dead one', () => survivor.output().includes('session adopted from a replica that is gone'), { timeoutMs: 20_000 });
  await waitFor('the survivor to store the log', async () => {
    const now = await activeStorer();
    return now !== '' && now !== storer;
  }, { timeoutMs: 30_000, intervalMs: 500 });

  for (const s of sessions) {
    expect((await req<{ stdout: string }>('orchestrator.session.exec', { sessionId: s.id, command: 'after' })).stdout).toBe('after\n');
    expect((await req<SessionV1>('orchestrator.session.close', { sessionId: s.id })).status).toBe('closed');
    const log = await stored(s.id);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(outputs(log)).toEqual(['before 1\n', 'before 2\n', 'before 3\n', 'after\n']);
    expect(log).toEqual(live(s.id));
  }
  expect(shell.jails.size).toBe(0);
}, 120_000);
