// Analytics ingestion: events per second from the bus into the database, through the real service
// (consumer, validation, batching, one transaction per batch, idempotency on ids, rollups).
//
// Method: the queue is PRE-LOADED before the clock starts. The service is started once to declare
// its durable queue and bindings, then stopped; N events are published from 4 connections in
// parallel (confirmed) into the idle queue; then the service starts and the clock runs until every
// event is committed (the per-name event counts in the database reach N). So the figure is the
// service's own consume+write rate, not the publishers'; it is given with and without the service's
// start (opening the database, starting the SQLite writer thread, connecting to the bus). Then the
// same for PostgreSQL, and the time of usage reports over the rows just written.
import { Bus } from '@codeagent/bus';
import { Queues, type EventPayload } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, TEST_BUS_SECRET, testLogger, waitFor, type TestDatabaseKind } from '@codeagent/testing';
import { prom } from '@codeagent/telemetry';
import { msSince, percentile, report, type Figure } from '../../../bench/lib';
import { loadServiceEnv } from '../src/env';
import { openAnalyticsDatabase } from '../src/repositories/database';
import { ReportRepository } from '../src/repositories/report.repository';
import { runService, type RunningService } from '@codeagent/service';
import { analyticsService } from '../src/service';

const N = Number(process.env.BENCH_EVENTS ?? 50_000);
const PUBLISHERS = 4;
const KINDS = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(',') as TestDatabaseKind[];
/** The service's tuning knobs, taken from the environment to compare settings. */
const TUNING = Object.fromEntries(
  ['ANALYTICS_BATCH_SIZE', 'ANALYTICS_BATCH_WAIT_MS', 'BUS_PREFETCH', 'ANALYTICS_SQLITE_WRITER_THREAD'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
);
const MODELS = [['openai', 'gpt-5'], ['openai', 'gpt-5-mini'], ['anthropic', 'claude-sonnet-4-5'], ['google', 'gemini-2.5-pro'], ['mistral', 'codestral-latest'], ['ollama', 'llama3']] as const;

/** 70% llm.usage, 20% shell.command.completed, 10% workspace.prepared, over 200 sessions and 20 users. */
function event(i: number): { name: 'llm.usage' | 'shell.command.completed' | 'workspace.prepared'; payload: unknown } {
  const k = i % 10;
  if (k < 7) {
    const [provider, model] = MODELS[i % MODELS.length]!;
    const u: EventPayload<'llm.usage'> = { provider, model, role: ['planning', 'coding', 'review'][i % 3]!, sessionId: `s${i % 200}`, user: `u${i % 20}`, projectId: `p${i % 7}`, inputTokens: 500 + (i % 1000), outputTokens: 50 + (i % 100), costUsd: 0 };
    return { name: 'llm.usage', payload: u };
  }
  if (k < 9) return { name: 'shell.command.completed', payload: { sessionId: `s${i % 200}`, commandId: `c${i}`, command: 'npm test', user: `u${i % 20}`, exitCode: i % 13 === 0 ? 1 : 0, durationMs: i % 5000, timedOut: false, seq: i } };
  return { name: 'workspace.prepared', payload: { workspaceId: `w${i}`, path: `/tmp/w${i}`, sourceKind: 'path' } };
}

async function measure(kind: TestDatabaseKind): Promise<Figure[]> {
  const broker = await createTestBroker(`bench-analytics-${kind}`);
  const tdb = await createTestDatabase(kind, 'bench-analytics');
  const env = (i: number) =>
    loadServiceEnv({ ...TUNING, RABBITMQ_URL: broker.url, CODEAGENT_BUS_SECRET: TEST_BUS_SECRET, DATABASE_URL: tdb.url, DATA_DIR: tdb.dataDir, ANALYTICS_PORT: '0', LOG_LEVEL: 'warn', INSTANCE_ID: `bench-${kind}-${i}` });
  let service: RunningService = await runService(analyticsService(env(0)), { exitOnSignal: false });
  await service.stop();
  const watchDb = await openAnalyticsDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir, poolSize: 1 });
  const watcher = new ReportRepository(watchDb.sql);
  const publishers = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, p) => Bus.connect({ url: broker.url, service: 'gateway', instanceId: `bench-pub-${p}`, logger: testLogger() })),
  );
  try {
    const t0 = process.hrtime.bigint();
    await Promise.all(
      publishers.map(async (bus, p) => {
        const window = 500;
        for (let i = p; i < N; i += PUBLISHERS * window) {
          const batch: Promise<void>[] = [];
          for (let j = i; j < Math.min(N, i + PUBLISHERS * window); j += PUBLISHERS) {
            const e = event(j);
            batch.push(bus.publish(e.name, e.payload as never, { id: `bench-${j}` }));
          }
          await Promise.all(batch);
        }
      }),
    );
    const publishRate = N / (msSince(t0) / 1000);
    await waitFor('queue pre-loaded', async () => (await broker.queueDepth(Queues.events('analytics'))) >= N, { timeoutMs: 60_000, intervalMs: 500 });

    // Progress is read from the service's own counter of committed events (it runs in this process):
    // polling the database instead ran synchronous SQLite reads on the service's event loop, about a
    // tenth of its time. The database is checked once the clock has stopped.
    const ingested = prom.register.getSingleMetric('analytics_events_ingested_total') as { get(): Promise<{ values: { value: number }[] }> } | undefined;
    const counted = async () => (ingested ? (await ingested.get()).values.reduce((a, v) => a + v.value, 0) : 0);
    const before = await counted();
    const seen = async () => (await counted()) - before;
    const start = process.hrtime.bigint();
    service = await runService(analyticsService(env(1)), { exitOnSignal: false });
    // The service consumes from its start on; what it committed before it was fully up is left out of the steady rate.
    const steadyStart = process.hrtime.bigint();
    const committedAtStart = await seen();
    const client = publishers[0]!;
    await waitFor(`${N} events committed`, async () => (await seen()) >= N, { timeoutMs: 300_000, intervalMs: 20 });
    const seconds = msSince(start) / 1000;
    const steadySeconds = msSince(steadyStart) / 1000;
    const inDatabase = Object.values(await watcher.eventCounts(0, 1_000_000)).reduce((a, b) => a + b, 0);
    // At least: the services' own events (health and the like) are ingested too.
    if (inDatabase < N) throw new Error(`the service counted ${N} events committed but the database holds ${inDatabase}`);

    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint();
      await client.request('analytics.usage', { groupBy: ['provider', 'model', 'user'], interval: 'day', filter: {}, limit: 1000 }, { timeoutMs: 60_000 });
      lat.push(msSince(t));
    }
    const label = kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    return [
      { name: `ingested from the bus into ${label} (service running)`, value: (N - committedAtStart) / steadySeconds, unit: 'events/s', goal: '>= 15000' },
      { name: `ingested from the bus into ${label}, service start included`, value: N / seconds, unit: 'events/s' },
      { name: `pre-load publish rate (${PUBLISHERS} connections, ${label} run)`, value: publishRate, unit: 'msg/s' },
      { name: `usage report p50 over ${Math.round(N * 0.7)} calls (${label})`, value: percentile(lat, 50), unit: 'ms' },
    ];
  } finally {
    await service.stop();
    await watchDb.close();
    await Promise.all(publishers.map((b) => b.close(1_000)));
    await tdb.dispose();
    await broker.dispose();
  }
}

/** The same pre-loaded queue drained by a no-op subscribeAll handler: what the bus alone allows. */
async function busCeiling(): Promise<Figure> {
  const broker = await createTestBroker('bench-analytics-noop');
  const connect = (id: string) => Bus.connect({ url: broker.url, service: 'analytics', instanceId: id, logger: testLogger(), prefetch: 2000 });
  const noop = async () => undefined;
  let consumer = await connect('noop-0');
  await consumer.subscribeAll('noop', noop);
  await consumer.close(1_000);
  const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => Bus.connect({ url: broker.url, service: 'gateway', instanceId: `noop-pub-${p}`, logger: testLogger() })));
  try {
    await Promise.all(
      publishers.map(async (bus, p) => {
        for (let i = p; i < N; i += PUBLISHERS * 500) {
          const batch: Promise<void>[] = [];
          for (let j = i; j < Math.min(N, i + PUBLISHERS * 500); j += PUBLISHERS) {
            const e = event(j);
            batch.push(bus.publish(e.name, e.payload as never, { id: `noop-${j}` }));
          }
          await Promise.all(batch);
        }
      }),
    );
    await waitFor('queue pre-loaded', async () => (await broker.queueDepth(Queues.events('noop'))) >= N, { timeoutMs: 60_000, intervalMs: 500 });
    let seen = 0;
    const start = process.hrtime.bigint();
    consumer = await connect('noop-1');
    await consumer.subscribeAll('noop', async () => void seen++);
    await waitFor('drained', () => seen >= N, { timeoutMs: 300_000, intervalMs: 20 });
    return { name: 'bus alone: pre-loaded queue drained by a no-op subscribeAll handler', value: N / (msSince(start) / 1000), unit: 'events/s' };
  } finally {
    await consumer.close(1_000);
    await Promise.all(publishers.map((b) => b.close(1_000)));
    await broker.dispose();
  }
}

async function main() {
  const tuned = loadServiceEnv({ ...TUNING, CODEAGENT_BUS_SECRET: TEST_BUS_SECRET });
  const figures: Figure[] = [];
  if (process.env.BENCH_BUS_CEILING !== '0') figures.push(await busCeiling());
  for (const kind of KINDS) figures.push(...(await measure(kind)));
  report(
    'analytics-ingest',
    figures,
    `${N} events (70% llm.usage, 20% shell.command.completed, 10% workspace.prepared), queue pre-loaded from ${PUBLISHERS} connections before the clock starts; ` +
      `one clock covers consume, validate, batch (${tuned.ANALYTICS_BATCH_SIZE} events / ${tuned.ANALYTICS_BATCH_WAIT_MS} ms, prefetch ${tuned.BUS_PREFETCH}), commit and ack of every event once the service is up, the other also its start ` +
      '(database open and migration check, SQLite writer thread, bus connection).',
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
