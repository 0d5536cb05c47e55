// Response times end to end on the real broker and real databases: llm.usage events with known
// durations and shell.command.completed events are published on the bus, and analytics.latency
// answers the nearest-rank p50/p95/max per provider/model (and role) and for commands over a window.
import { Bus } from '@codeagent/bus';
import type { AnalyticsLatencyV1, EventPayload } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, TEST_BUS_SECRET, TEST_DATABASE_KINDS, testLogger, waitFor, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { loadServiceEnv } from '../src/env';
import { runService, type RunningService } from '@codeagent/service';
import { analyticsService } from '../src/service';

type Usage = EventPayload<'llm.usage'>;

/** A fixed order that is not sorted, so the database has to sort. */
const shuffled = (n: number) => Array.from({ length: n }, (_, i) => ((i * 37) % n) + 1);

describe.each(TEST_DATABASE_KINDS)('analytics latency on %s', (kind) => {
  let broker: TestBroker;
  let tdb: TestDatabase;
  let service: RunningService | undefined;
  let client: Bus;

  beforeAll(async () => {
    broker = await createTestBroker(`analytics-latency-${kind}`);
    tdb = await createTestDatabase(kind, 'analytics-latency');
    const env = loadServiceEnv({
      RABBITMQ_URL: broker.url,
      CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
      DATABASE_URL: tdb.url,
      DATA_DIR: tdb.dataDir,
      ANALYTICS_PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      INSTANCE_ID: `analytics-latency-${kind}`,
      ANALYTICS_BATCH_WAIT_MS: '20',
    });
    service = await runService(analyticsService(env), { exitOnSignal: false });
    client = await Bus.connect({ url: broker.url, service: 'gateway', instanceId: `latency-publisher-${kind}`, logger: testLogger() });
  }, 60_000);

  afterAll(async () => {
    await client?.close(1_000);
    await service?.stop();
    await tdb?.dispose();
    await broker?.dispose();
  });

  it('reports p50/p95/max of known LLM call and command durations over a window', async () => {
    const from = new Date(Date.now() - 3_600_000);
    const at = new Date(from.getTime() + 60_000).toISOString();
    const calls: Usage[] = [];
    // openai/gpt-5: 1..100 ms, coding for the odd ones; first token at a tenth of it.
    for (const d of shuffled(100)) {
      calls.push({ provider: 'openai', model: 'gpt-5', role: d % 2 ? 'coding' : 'review', user: 'alice', inputTokens: 1, outputTokens: 1, costUsd: 0, at, durationMs: d, firstTokenMs: d / 10 });
    }
    // anthropic: one call, without a first-token time.
    calls.push({ provider: 'anthropic', model: 'claude-sonnet-4-5', role: 'coding', user: 'bob', inputTokens: 1, outputTokens: 1, costUsd: 0, at, durationMs: 5 });
    // Untimed (an older producer), and a slow one outside the window.
    calls.push({ provider: 'openai', model: 'gpt-5', role: 'coding', user: 'alice', inputTokens: 1, outputTokens: 1, costUsd: 0, at });
    calls.push({ provider: 'openai', model: 'gpt-5', role: 'coding', user: 'alice', inputTokens: 1, outputTokens: 1, costUsd: 0, at: new Date(from.getTime() - 60_000).toISOString(), durationMs: 99_999 });
    await Promise.all(calls.map((c) => client.publish('llm.usage', c)));
    // Commands: 10, 20, ..., 200 ms for alice, one of 5000 ms for bob.
    const commands = shuffled(20).map((i) => ({ user: 'alice', durationMs: i * 10 }));
    commands.push({ user: 'bob', durationMs: 5000 });
    await Promise.all(
      commands.map((c, i) => client.publish('shell.command.completed', { sessionId: `s-${c.user}`, commandId: `c${i}`, command: 'true', user: c.user, exitCode: 0, durationMs: c.durationMs, timedOut: false, seq: i })),
    );

    const to = new Date(Date.now() + 60_000).toISOString();
    // groupBy and filter have defaults the bus applies (as the gateway's callers rely on).
    const ask = (q: Partial<AnalyticsLatencyV1>) => client.request('analytics.latency', q as AnalyticsLatencyV1, { timeoutMs: 20_000 });
    await waitFor(
      'every duration recorded',
      async () => {
        const r = await ask({ from: from.toISOString(), to });
        return r.llmTotal.count === 101 && r.untimedCalls === 1 && r.commands.count === 21;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const r = await ask({ from: from.toISOString(), to });
    expect(r.groupBy).toEqual(['provider', 'model']);
    expect(r.llm).toEqual([
      { provider: 'openai', model: 'gpt-5', count: 100, p50Ms: 50, p95Ms: 95, maxMs: 100, firstToken: { count: 100, p50Ms: 5, p95Ms: 9.5, maxMs: 10 } },
      { provider: 'anthropic', model: 'claude-sonnet-4-5', count: 1, p50Ms: 5, p95Ms: 5, maxMs: 5, firstToken: { count: 0, p50Ms: null, p95Ms: null, maxMs: null } },
    ]);
    // All 101 (anthropic's 5 twice with openai's 5): rank 51 is 50, rank 96 (ceil 95.95) is 95.
    expect(r.llmTotal).toMatchObject({ count: 101, p50Ms: 50, p95Ms: 95, maxMs: 100 });
    // 21 commands: rank 11 is 110, rank 20 (ceil 19.95) is 200, the max is bob's 5000.
    expect(r.commands).toEqual({ count: 21, p50Ms: 110, p95Ms: 200, maxMs: 5000 });

    // Per role, openai only: the odd durations 1..99 are coding (rank 25 is 49, rank 48 is 95), the even ones review.
    const byRole = await ask({ from: from.toISOString(), to, groupBy: ['role'], filter: { provider: 'openai' } });
    expect(byRole.llm.map((x) => [x.role, x.count, x.p50Ms, x.p95Ms, x.maxMs])).toEqual([
      ['review', 50, 50, 96, 100],
      ['coding', 50, 49, 95, 99],
    ]);

    // A member's view (the gateway filters by user): bob's call and command only.
    const bob = await ask({ from: from.toISOString(), to, filter: { user: 'bob' } });
    expect(bob.llmTotal).toMatchObject({ count: 1, p50Ms: 5 });
    expect(bob.commands).toEqual({ count: 1, p50Ms: 5000, p95Ms: 5000, maxMs: 5000 });

    // A window with nothing in it.
    const empty = await ask({ from: new Date(from.getTime() - 7_200_000).toISOString(), to: new Date(from.getTime() - 3_600_000).toISOString() });
    expect(empty).toMatchObject({ llm: [], untimedCalls: 0, llmTotal: { count: 0, p50Ms: null }, commands: { count: 0, p95Ms: null } });
  }, 90_000);

  it('refuses a window whose from is not before its to', async () => {
    const backwards = { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' } as AnalyticsLatencyV1;
    await expect(client.request('analytics.latency', backwards, { timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
