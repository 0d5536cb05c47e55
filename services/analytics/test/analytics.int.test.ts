// The analytics service end to end on the real broker and real databases: events published on the
// bus appear in the reports with the right sums, a redelivered envelope id is not counted twice (even
// by a restarted replica), a malformed event is dead-lettered while ingestion goes on.
import { Bus, BusSigner } from '@codeagent/bus';
import { Exchanges, Headers, Queues, type EventPayload } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, management, TEST_BUS_SECRET, TEST_DATABASE_KINDS, testLogger, waitFor, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { loadServiceEnv } from '../src/env';
import { runService, type RunningService } from '@codeagent/service';
import { analyticsService } from '../src/service';

type Usage = EventPayload<'llm.usage'>;

describe.each(TEST_DATABASE_KINDS)('analytics service on %s', (kind) => {
  let broker: TestBroker;
  let tdb: TestDatabase;
  let service: RunningService | undefined;
  let client: Bus;
  let instance = 0;

  const start = async () => {
    const env = loadServiceEnv({
      RABBITMQ_URL: broker.url,
      CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
      DATABASE_URL: tdb.url,
      DATA_DIR: tdb.dataDir,
      ANALYTICS_PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      INSTANCE_ID: `analytics-test-${kind}-${instance++}`,
      ANALYTICS_BATCH_WAIT_MS: '20',
    });
    service = await runService(analyticsService(env), { exitOnSignal: false });
  };
  const eventsSeen = async (name: string) => (await client.request('analytics.overview', {}, { timeoutMs: 20_000 })).events[name] ?? 0;

  beforeAll(async () => {
    broker = await createTestBroker(`analytics-${kind}`);
    tdb = await createTestDatabase(kind, `analytics-svc`);
    await start();
    client = await Bus.connect({ url: broker.url, service: 'gateway', instanceId: `publisher-${kind}`, logger: testLogger() });
  }, 60_000);

  afterAll(async () => {
    await client?.close(1_000);
    await service?.stop();
    await tdb?.dispose();
    await broker?.dispose();
  });

  it('turns published events into reports with the right sums, grouped and filtered', async () => {
    const calls: Usage[] = [];
    const models = [
      ['openai', 'gpt-5'],
      ['openai', 'gpt-5-mini'],
      ['anthropic', 'claude-sonnet-4-5'],
    ] as const;
    for (let i = 0; i < 30; i++) {
      const [provider, model] = models[i % 3]!;
      calls.push({ provider, model, role: i % 2 ? 'coding' : 'review', sessionId: `s${i % 4}`, user: i % 5 ? 'alice' : 'bob', inputTokens: 100 + i, outputTokens: 10 + i, costUsd: 0.001 * (i + 1) });
    }
    await Promise.all([
      ...calls.map((c) => client.publish('llm.usage', c)),
      ...[0, 1, 2, 3].map((i) => client.publish('shell.command.completed', { sessionId: 's1', commandId: `c${i}`, command: 'true', user: 'alice', exitCode: i === 3 ? 127 : 0, durationMs: 40, timedOut: false, seq: i })),
      client.publish('workspace.prepared', { workspaceId: 'w1', path: '/tmp/w1', sourceKind: 'empty' }),
    ]);
    await waitFor('all 30 usage events recorded', async () => (await eventsSeen('llm.usage')) === 30, { timeoutMs: 30_000, intervalMs: 200 });

    const report = await client.request('analytics.usage', { groupBy: ['provider', 'model'], interval: 'none', filter: {}, limit: 100 });
    const sum = (pred: (c: Usage) => boolean, f: (c: Usage) => number) => calls.filter(pred).reduce((n, c) => n + f(c), 0);
    expect(report.rows).toHaveLength(3);
    for (const [provider, model] of models) {
      const row = report.rows.find((r) => r.provider === provider && r.model === model)!;
      const mine = (c: Usage) => c.provider === provider && c.model === model;
      expect(row).toMatchObject({ calls: 10, inputTokens: sum(mine, (c) => c.inputTokens), outputTokens: sum(mine, (c) => c.outputTokens) });
      expect(row.costUsd).toBeCloseTo(sum(mine, (c) => c.costUsd), 9);
    }
    expect(report.totals.calls).toBe(30);

    const bob = await client.request('analytics.usage', { groupBy: ['user', 'role'], interval: 'day', filter: { user: 'bob' }, limit: 100 });
    expect(bob.totals.calls).toBe(6);
    expect(bob.rows.every((r) => r.user === 'bob' && r.period === new Date().toISOString().slice(0, 10))).toBe(true);
    expect(bob.totals.inputTokens).toBe(sum((c) => c.user === 'bob', (c) => c.inputTokens));

    await waitFor('commands recorded', async () => (await eventsSeen('shell.command.completed')) === 4, { timeoutMs: 20_000, intervalMs: 200 });
    const sessions = await client.request('analytics.sessions', { groupBy: ['user'], interval: 'none', filter: {}, limit: 10 });
    expect(sessions.totals).toMatchObject({ commands: 4, failedCommands: 1, commandSeconds: 0.16 });

    // The platform's metrics are on the service's own /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${service!.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/analytics_llm_tokens_total\{provider="anthropic",model="claude-sonnet-4-5",direction="input"/);
    expect(metrics).toMatch(/analytics_command_duration_seconds_bucket/);
  });

  it('counts a redelivered envelope id once, also after a restart', async () => {
    const before = (await client.request('analytics.usage', { groupBy: [], interval: 'none', filter: { model: 'gpt-4.1' }, limit: 1 })).totals.calls;
    expect(before).toBe(0);
    const dup: Usage = { provider: 'openai', model: 'gpt-4.1', role: 'planning', inputTokens: 1000, outputTokens: 1000, costUsd: 0 };
    await Promise.all([client.publish('llm.usage', dup, { id: 'dup-1' }), client.publish('llm.usage', dup, { id: 'dup-1' })]);
    await client.publish('llm.usage', dup, { id: 'dup-1' });
    await client.publish('llm.usage', dup, { id: 'dup-2' });
    const total = () => client.request('analytics.usage', { groupBy: [], interval: 'none', filter: { model: 'gpt-4.1' }, limit: 1 });
    await waitFor('dup-2 recorded', async () => (await total()).totals.calls >= 2, { timeoutMs: 20_000, intervalMs: 100 });

    // A new replica has none of the bus's in-memory memory of ids: only the database's unique key stops it.
    await service!.stop();
    await start();
    await client.publish('llm.usage', dup, { id: 'dup-1' });
    await client.publish('llm.usage', { ...dup, model: 'gpt-4.1-mini' }, { id: 'after-restart' });
    await waitFor('the event after the restart recorded', async () => (await client.request('analytics.usage', { groupBy: [], interval: 'none', filter: { model: 'gpt-4.1-mini' }, limit: 1 })).totals.calls === 1, { timeoutMs: 30_000, intervalMs: 100 });
    const after = await total();
    expect(after.totals.calls).toBe(2);
    // Priced from the table: the event carried no cost (0).
    expect(after.totals.costUsd).toBeGreaterThan(0);
    expect(after.unpricedCalls).toBe(0);
  });

  it('dead-letters a malformed event with the reason and goes on ingesting', async () => {
    const openaiCalls = () => client.request('analytics.usage', { groupBy: [], interval: 'none', filter: { provider: 'openai' }, limit: 1 });
    const openaiBefore = (await openaiCalls()).totals.calls;
    const bad = { id: 'bad-1', type: 'event', timestamp: new Date().toISOString(), metadata: { version: '1' }, payload: { provider: 'openai', model: 'gpt-5', role: 'x', inputTokens: -5, outputTokens: 1, costUsd: 0 } };
    // Signed as a platform service would sign it: a buggy producer, not a foreign one (that one is refused before validation).
    const body = JSON.stringify(bad);
    const headers = new BusSigner(TEST_BUS_SECRET).headers('gateway', { messageId: 'bad-1', type: 'llm.usage' }, Buffer.from(body));
    const routed = (await management('POST', `/exchanges/${encodeURIComponent(broker.vhost)}/${Exchanges.events}/publish`, {
      routing_key: 'llm.usage',
      payload: body,
      payload_encoding: 'string',
      properties: { type: 'llm.usage', message_id: 'bad-1', content_type: 'application/json', delivery_mode: 2, headers },
    })) as { routed: boolean };
    expect(routed.routed).toBe(true);
    const dead = await waitFor(
      'the malformed event in the dead-letter queue',
      async () => (await broker.peek(Queues.deadLetter)).find((m) => m.payload.includes('"bad-1"')),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(String(dead.properties.headers?.[Headers.deathReason])).toMatch(/inputTokens/);

    // Valid for the catalog, but a model id analytics cannot key: dead-lettered at once, with the field named.
    await client.publish('llm.usage', { provider: 'openai', model: 'x'.repeat(300), role: 'coding', inputTokens: 1, outputTokens: 2, costUsd: 0.5 }, { id: 'too-long-1' });
    const tooLong = await waitFor(
      'the event with a 300-character model in the dead-letter queue',
      async () => (await broker.peek(Queues.deadLetter)).find((m) => m.payload.includes('"too-long-1"')),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(String(tooLong.properties.headers?.[Headers.deathReason])).toMatch(/model is longer than 200 characters/);

    await client.publish('llm.usage', { provider: 'xai', model: 'grok-4', role: 'coding', inputTokens: 1, outputTokens: 2, costUsd: 0.5 });
    await waitFor('ingestion goes on', async () => (await client.request('analytics.usage', { groupBy: [], interval: 'none', filter: { provider: 'xai' }, limit: 1 })).totals.calls === 1, { timeoutMs: 20_000, intervalMs: 100 });
    // Neither refused event was counted.
    expect((await openaiCalls()).totals.calls).toBe(openaiBefore);
  });

  it('reports sessions from the orchestrator\'s lifecycle events, agent runs and task completions', async () => {
    const t0 = Date.now() - 600_000;
    const at = (ms: number) => new Date(ms).toISOString();
    await Promise.all([
      client.publish('session.created', { sessionId: 'life-1', user: 'carol', projectId: 'proj-a', status: 'creating', at: at(t0) }),
      client.publish('session.ready', { sessionId: 'life-1', user: 'carol', projectId: 'proj-a', status: 'ready', at: at(t0 + 1_000), setupMs: 1_000 }),
      client.publish('session.created', { sessionId: 'life-2', user: 'carol', projectId: 'proj-a', status: 'creating', at: at(t0) }),
      client.publish('session.created', { sessionId: 'life-3', user: 'dave', projectId: 'proj-b', status: 'creating', at: at(t0) }),
      client.publish('task.updated', { taskId: 'task-1', title: 'ship', status: 'done', previousStatus: 'review', projectId: 'proj-a', at: at(t0 + 5_000) }),
      client.publish('agent.run.completed', { runId: 'run-1', sessionId: 'life-1', projectId: 'proj-a', status: 'budget_exceeded', results: [], steps: 3, usage: { inputTokens: 10, outputTokens: 5 }, costUsd: 0.2, providers: ['openai'], at: at(t0 + 6_000) }),
    ]);
    await client.publish('session.closed', { sessionId: 'life-1', user: 'carol', projectId: 'proj-a', status: 'closed', at: at(t0 + 301_000), durationMs: 301_000 });
    await client.publish('session.failed', { sessionId: 'life-3', user: 'dave', projectId: 'proj-b', status: 'failed', at: at(t0 + 60_000), reason: 'jail lost' });
    await waitFor('lifecycle events recorded', async () => (await eventsSeen('session.failed')) === 1 && (await eventsSeen('session.closed')) === 1, { timeoutMs: 20_000, intervalMs: 100 });

    const byProject = await client.request('analytics.sessions', { groupBy: ['project'], interval: 'none', filter: { user: 'carol' }, limit: 10, from: at(t0 - 1) });
    expect(byProject.rows).toEqual([expect.objectContaining({ project: 'proj-a', started: 2, ended: 1, failed: 0, durationSeconds: 301, maxDurationSeconds: 301 })]);
    const all = await client.request('analytics.sessions', { groupBy: [], interval: 'none', filter: {}, limit: 10, from: at(t0 - 1) });
    expect(all.totals).toMatchObject({ started: 3, ended: 2, failed: 1 });
    expect(all.active).toBe(1);
    const overview = await client.request('analytics.overview', { from: at(t0 - 1) });
    expect(overview.agentRuns).toEqual({ budget_exceeded: 1 });
    expect(overview.tasksCompleted).toBe(1);
  });

  it('refuses a report whose range ends before it starts, with a user error', async () => {
    const err = await client.request('analytics.usage', { groupBy: [], interval: 'none', filter: {}, limit: 1, from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
