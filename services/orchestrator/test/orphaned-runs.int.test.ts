import type { AgentRunV1, SessionEventV1, SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { PrismaAgentRunRepository } from '../src/repositories/agent-runs.repository';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../src/repositories/database';
import { TestShell, TestWorkspace } from './fake-services';
import { connectClient, startOrchestrator } from './harness';

// Agent runs left `running` by an orchestrator replica that died. Three real replicas on one broker
// and one database: a (dies), b (reconciles every 300 ms) and c (alive, reconciles only at its
// start, so that b is the one that acts). The runs are stored as their replicas would have left them.
let broker: TestBroker;
let tdb: TestDatabase;
let db: OrchestratorDatabase;
let ws: TestWorkspace;
let shell: TestShell;
let a: ServiceProcess;
let b: ServiceProcess;
let c: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
const env = (id: string, reconcileMs: number) => ({ RABBITMQ_URL: broker.url, ...tdb.env, INSTANCE_ID: id, ORCHESTRATOR_RECONCILE_MS: String(reconcileMs), ORCHESTRATOR_TASKS_SYNC_MS: '0' });
const req = <T>(name: string, payload: unknown) => (client.bus.request as any)(name, payload, { timeoutMs: 20_000 }) as Promise<T>;
const runOf = (runId: string) => req<AgentRunV1>('orchestrator.agent.get', { runId });
/** The service's own node process: tsx runs it as a child, so killing tsx alone would orphan it. */
const pidOf = (p: ServiceProcess) => Number(/"pid":(\d+)/.exec(p.output())?.[1]);

function running(runId: string, sessionId: string, instanceId: string, startedAt = new Date()): AgentRunV1 {
  return {
    runId,
    sessionId,
    prompt: 'fix it',
    roles: ['coding'],
    status: 'running',
    steps: [],
    results: [],
    usage: { inputTokens: 0, outputTokens: 0 },
    costUsd: 0,
    budgetUsd: 2,
    providers: [],
    instanceId,
    deadline: new Date(Date.now() + 3_600_000).toISOString(),
    startedAt: startedAt.toISOString(),
  };
}

beforeAll(async () => {
  broker = await createTestBroker('orch-orphaned-runs');
  tdb = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-orphaned-runs');
  ws = await TestWorkspace.start(broker.url);
  shell = await TestShell.start(broker.url);
  client = await connectClient(broker.url);
  // a alone first, so that it owns the session; then c, which finds nothing to do at its start.
  a = await startOrchestrator(env('orch-a', 0));
  c = await startOrchestrator(env('orch-c', 0));
  db = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
}, 90_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await db?.close();
  await client?.bus.close(500);
  await shell?.stop();
  await ws?.stop();
  await broker?.dispose();
  await tdb?.dispose();
});

test('runs of a replica that is gone are ended failed with the reason by the replica that reconciles, once, and logged in their session; runs of live replicas are untouched', async () => {
  const session = await req<SessionV1>('orchestrator.session.create', { source: { kind: 'empty' }, owner: 'u1' });
  expect((await db.client.session.findUniqueOrThrow({ where: { id: session.id } })).ownerInstance).toBe('orch-a');
  const runs = new PrismaAgentRunRepository(db.client);
  // b's id ran a run before b's process started: a previous process of b's, which the restart stopped.
  await runs.save(running('run-b-before', session.id, 'orch-b', new Date(Date.now() - 60_000)));
  await runs.save(running('run-a', session.id, 'orch-a'));
  await runs.save(running('run-c', session.id, 'orch-c'));

  // b's reconciliation at its start (done when it reports started) ends its previous process's run and
  // leaves the runs of a and c, both alive.
  b = await startOrchestrator(env('orch-b', 300));
  const before = await runOf('run-b-before');
  expect(before).toMatchObject({ status: 'failed', endedAt: expect.any(String) });
  expect(before.error).toMatch(/^the orchestrator replica orch-b that ran it stopped and has started again; the run was ended by orch-b \(/);
  expect((await runOf('run-a')).status).toBe('running');
  expect((await runOf('run-c')).status).toBe('running');

  process.kill(pidOf(a), 'SIGKILL');
  await a.stop();
  const ended = await waitFor('b to end the run of a', async () => {
    const run = await runOf('run-a');
    return run.status === 'running' ? undefined : run;
  }, { timeoutMs: 20_000 });
  expect(ended.status).toBe('failed');
  expect(ended.error).toBe('the orchestrator replica orch-a that ran it stopped; the run was ended by orch-b (a run cannot be resumed: its conversation with the model lived in that replica)');
  // b adopted the session before ending the run, so it was b that logged the end in it.
  expect((await db.client.session.findUniqueOrThrow({ where: { id: session.id } })).ownerInstance).toBe('orch-b');
  const completions = (log: SessionEventV1[]) => log.flatMap((e) => (e.kind === 'agent' && e.data.type === 'completed' ? [e.data] : []));
  const logged = await waitFor('the end of run-a in the session log', async () => {
    const { events } = await req<{ events: SessionEventV1[] }>('orchestrator.session.events', { sessionId: session.id, since: 0, limit: 1000 });
    return completions(events).some((d) => d.runId === 'run-a') ? completions(events) : undefined;
  }, { timeoutMs: 20_000 });
  expect(logged.filter((d) => d.runId === 'run-a')).toEqual([expect.objectContaining({ status: 'failed', error: ended.error })]);

  // A later pass (it ends a run stored after run-a ended) leaves c's run, and does not end run-a again.
  await runs.save(running('run-gone', 'no-session', 'orch-never-started'));
  await waitFor('b to end the run stored later', async () => (await runOf('run-gone')).status === 'failed', { timeoutMs: 20_000 });
  expect((await runOf('run-c')).status).toBe('running');
  expect((await runs.listRunning()).map((r) => r.runId)).toEqual(['run-c']);
  const { events } = await req<{ events: SessionEventV1[] }>('orchestrator.session.events', { sessionId: session.id, since: 0, limit: 1000 });
  expect(completions(events).filter((d) => d.runId === 'run-a')).toHaveLength(1);
  expect(completions(events).filter((d) => d.runId === 'run-c')).toEqual([]);
}, 120_000);
