// The repositories against real databases (SQLite file and PostgreSQL database of their own): the
// SQL of ingestion and reports, idempotency on event ids, and rollups that agree with raw facts.
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { toFacts, type IncomingEvent } from '../src/ingest/facts';
import { Ingestor } from '../src/ingest/ingestor';
import { DAY_MS } from '../src/ingest/time';
import { sessionsReport } from '../src/reports/sessions.report';
import { usageReport } from '../src/reports/usage.report';
import { overviewReport } from '../src/reports/overview.report';
import { rawHorizon } from '../src/reports/range';
import { openAnalyticsDatabase } from '../src/repositories/database';
import { IngestRepository } from '../src/repositories/ingest.repository';
import { ReportRepository } from '../src/repositories/report.repository';
import { sql } from '../src/repositories/sql';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function usage(id: string, p: { provider?: string; model?: string; role?: string; session?: string; user?: string; project?: string; in: number; out: number; cost: number; at: number }): IncomingEvent {
  return {
    id,
    name: 'llm.usage',
    receivedAt: NOW,
    payload: {
      provider: p.provider ?? 'openai', model: p.model ?? 'gpt-5', role: p.role ?? 'coding', sessionId: p.session, user: p.user, projectId: p.project,
      inputTokens: p.in, outputTokens: p.out, costUsd: p.cost, at: iso(p.at),
    },
  };
}

describe.each(TEST_DATABASE_KINDS)('analytics repositories on %s', (kind) => {
  let tdb: TestDatabase;
  let db: Awaited<ReturnType<typeof openAnalyticsDatabase>>;
  let ingestor: Ingestor;
  let reports: ReportRepository;

  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'analytics-repo');
    db = await openAnalyticsDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    ingestor = new Ingestor(new IngestRepository(db.driver, db.target.kind), { batchSize: 100, batchWaitMs: 5 });
    reports = new ReportRepository(db.sql);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await tdb?.dispose();
  });

  it('sums usage the same from raw facts, daily and weekly rollups, over months', async () => {
    // 90 days of usage, two calls a day at 01:00 and 11:00, on two models and two users.
    const events: IncomingEvent[] = [];
    let expected = { calls: 0, input: 0, output: 0, cost: 0, aliceCost: 0 };
    for (let d = 0; d < 90; d++) {
      for (const [h, model, user] of [[1, 'gpt-5', 'alice'], [11, 'gpt-5-mini', 'bob']] as const) {
        const at = NOW - d * DAY_MS - 12 * 3_600_000 + h * 3_600_000;
        const e = usage(`u-${d}-${h}`, { model, user, session: `s-${d % 5}`, in: 100 + d, out: 10, cost: 0.01 * (d + 1), at });
        events.push(e);
        expected = {
          calls: expected.calls + 1,
          input: expected.input + 100 + d,
          output: expected.output + 10,
          cost: expected.cost + 0.01 * (d + 1),
          aliceCost: expected.aliceCost + (user === 'alice' ? 0.01 * (d + 1) : 0),
        };
      }
    }
    await Promise.all(events.map((e) => ingestor.ingest(e)));

    // A range that is not on day boundaries: raw edges, daily and weekly rollups in the middle.
    const q = { from: iso(NOW - 100 * DAY_MS), to: iso(NOW + 1), groupBy: [], interval: 'none' as const, filter: {}, limit: 100 };
    const all = await usageReport(reports, q, NOW);
    expect(all.totals).toMatchObject({ calls: expected.calls, inputTokens: expected.input, outputTokens: expected.output, totalTokens: expected.input + expected.output });
    expect(all.totals.costUsd).toBeCloseTo(expected.cost, 6);

    const byDay = await usageReport(reports, { ...q, interval: 'day' }, NOW);
    expect(byDay.rows).toHaveLength(90);
    expect(byDay.rows.reduce((n, r) => n + r.calls, 0)).toBe(expected.calls);
    const byWeek = await usageReport(reports, { ...q, interval: 'week', groupBy: ['model'] }, NOW);
    expect(byWeek.rows.every((r) => r.period && new Date(`${r.period}T00:00:00Z`).getUTCDay() === 1)).toBe(true);
    expect(byWeek.rows.reduce((n, r) => n + r.inputTokens, 0)).toBe(expected.input);

    const grouped = await usageReport(reports, { ...q, groupBy: ['provider', 'model', 'user'] }, NOW);
    expect(grouped.rows.map((r) => [r.provider, r.model, r.user, r.calls])).toEqual(
      expect.arrayContaining([['openai', 'gpt-5', 'alice', 90], ['openai', 'gpt-5-mini', 'bob', 90]]),
    );
    const alice = await usageReport(reports, { ...q, groupBy: ['session'], filter: { user: 'alice' } }, NOW);
    expect(alice.rows).toHaveLength(5);
    expect(alice.totals.costUsd).toBeCloseTo(expected.aliceCost, 6);
    expect(alice.rows.every((r) => r.role === undefined && typeof r.session === 'string')).toBe(true);

    // The last 24 hours: the two calls of today (01:00 and 11:00); yesterday's were before noon.
    const recent = await usageReport(reports, { ...q, from: iso(NOW - DAY_MS) }, NOW);
    expect(recent.totals.calls).toBe(2);
  });

  it('counts an event id once, whether repeated in a batch or delivered again later', async () => {
    const at = NOW - 1_800_000;
    const e = usage('dup-1', { provider: 'anthropic', model: 'claude-sonnet-4-5', in: 1000, out: 100, cost: 0.5, at });
    await Promise.all([ingestor.ingest(e), ingestor.ingest(e)]);
    await ingestor.ingest(e);
    // A new ingestor (a restarted replica) has no memory of it: only the database's unique key does.
    await new Ingestor(new IngestRepository(db.driver, db.target.kind), { batchSize: 10, batchWaitMs: 5 }).ingest(e);
    const r = await usageReport(reports, { from: iso(at - 1), to: iso(at + 1), groupBy: ['provider'], interval: 'none', filter: {}, limit: 10 }, NOW);
    expect(r.rows).toEqual([{ provider: 'anthropic', calls: 1, inputTokens: 1000, outputTokens: 100, totalTokens: 1100, costUsd: 0.5 }]);
  });

  it('forgets processed ids past their retention, in slices, and only those', async () => {
    const ev = (id: string) => toFacts({ id, name: 'workspace.prepared', receivedAt: NOW, payload: { workspaceId: id, path: '/w', sourceKind: 'empty' } });
    const old = ['old-1', 'old-2', 'old-3', 'old-4', 'old-5'];
    await new IngestRepository(db.driver, db.target.kind, () => NOW - 40 * DAY_MS).commit(old.map(ev));
    const repo = new IngestRepository(db.driver, db.target.kind, () => NOW);
    await repo.commit([ev('recent-1')]);

    // Slices of 2: three statements delete the five old ids; the recent one stays.
    expect(await repo.pruneProcessed(NOW - 30 * DAY_MS, 2)).toBe(5);
    expect((await repo.commit([ev('recent-1')])).fresh.size).toBe(0);
    // A forgotten id is new again: the retention is the window in which redeliveries are recognised.
    expect([...(await repo.commit([ev('old-1')])).fresh]).toEqual(['old-1']);
  });

  it('keeps reports right after raw facts past their retention are pruned: old edges widen to whole days', async () => {
    // Two calls 200 days ago (10:00 and 20:00 UTC) on a model of their own, and one today.
    const day = (Math.floor(NOW / DAY_MS) - 200) * DAY_MS;
    const call = (id: string, at: number) => usage(id, { model: 'o3', user: 'retained', in: 10, out: 1, cost: 1, at });
    await Promise.all([ingestor.ingest(call('ret-1', day + 10 * 3_600_000)), ingestor.ingest(call('ret-2', day + 20 * 3_600_000)), ingestor.ingest(call('ret-3', NOW - 3_600_000))]);
    const q = { from: iso(day + 15 * 3_600_000), to: iso(NOW), groupBy: [], interval: 'none' as const, filter: { user: 'retained' }, limit: 10 };
    // With every raw fact kept, the range starts at 15:00: the 10:00 call is outside it.
    expect((await usageReport(reports, q, NOW)).totals.calls).toBe(2);

    const horizon = rawHorizon(NOW, 90);
    const repo = new IngestRepository(db.driver, db.target.kind);
    expect(await repo.pruneRaw(horizon, 1)).toBeGreaterThanOrEqual(2);
    const rows = await db.sql.$queryRaw<{ event_id: string }[]>(sql`SELECT event_id FROM analytics_usage WHERE event_id IN ('ret-1', 'ret-2', 'ret-3')`);
    expect(rows.map((r) => r.event_id)).toEqual(['ret-3']);

    // Past the horizon the edge is read from the daily rollup, whole: both old calls, and the reply says from when.
    const widened = await usageReport(reports, q, NOW, horizon);
    expect(widened.from).toBe(iso(day));
    expect(widened.totals).toMatchObject({ calls: 3, inputTokens: 30 });
    // Edges inside the horizon are still exact.
    expect((await usageReport(reports, { ...q, from: iso(NOW - 2 * 3_600_000) }, NOW, horizon)).totals.calls).toBe(1);
  });

  // Replicas share a database only on PostgreSQL (SQLite is the one-machine mode: two clients in one
  // thread would wait on each other's write lock), so this case exists for PostgreSQL only.
  const onPostgres = kind === 'postgres' ? it : undefined;
  onPostgres?.('two replicas ingesting the same events at once count each once', async () => {
    const at = NOW - 2_400_000;
    const events = Array.from({ length: 300 }, (_, i) => usage(`race-${i}`, { provider: 'google', model: 'gemini-2.5-pro', in: 10, out: 1, cost: 0.01, at }));
    // A second client: the two replicas' transactions really run at the same time.
    const other = await openAnalyticsDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    try {
      const a = new Ingestor(new IngestRepository(db.driver, db.target.kind), { batchSize: 100, batchWaitMs: 5 });
      const b = new Ingestor(new IngestRepository(other.driver, other.target.kind), { batchSize: 100, batchWaitMs: 5 });
      await Promise.all(events.flatMap((e) => [a.ingest(e), b.ingest(e)]));
    } finally {
      await other.close();
    }
    const r = await usageReport(reports, { from: iso(at - 1), to: iso(at + 1), groupBy: ['provider'], interval: 'none', filter: {}, limit: 10 }, NOW);
    expect(r.totals.calls).toBe(300);
    expect(r.totals.inputTokens).toBe(3000);
  });

  it('reports sessions, durations and commands grouped by user and project', async () => {
    const t0 = NOW - 2 * 3_600_000;
    const ev = (id: string, name: string, payload: Record<string, unknown>, at: number): IncomingEvent => ({ id, name, payload: { ...payload, at: iso(at) }, receivedAt: NOW });
    // The close of s2 arrives before its creation: the merge does not care about order.
    await Promise.all([
      ingestor.ingest(ev('s1-c', 'session.created', { sessionId: 'x1', user: 'alice', projectId: 'p1' }, t0)),
      ingestor.ingest(ev('s2-x', 'session.closed', { sessionId: 'x2' }, t0 + 600_000)),
      ingestor.ingest(ev('s2-c', 'session.created', { sessionId: 'x2', user: 'alice', projectId: 'p2' }, t0 + 60_000)),
      ingestor.ingest(ev('s3-c', 'session.created', { sessionId: 'x3', user: 'bob', projectId: 'p1' }, t0)),
      ingestor.ingest(ev('s3-f', 'session.failed', { sessionId: 'x3', reason: 'boom' }, t0 + 120_000)),
      ...[0, 1, 2].map((i) => ingestor.ingest(ev(`c1-${i}`, 'shell.command.completed', { sessionId: 'x1', commandId: `c${i}`, command: 'ls', exitCode: i === 2 ? 1 : 0, durationMs: 100, timedOut: false, seq: i }, t0 + i * 1000))),
      ingestor.ingest(ev('c3-0', 'shell.command.completed', { sessionId: 'x3', commandId: 'c', command: 'make', exitCode: 0, durationMs: 5000, timedOut: true, seq: 0 }, t0 + 5000)),
      ingestor.ingest(ev('r1', 'agent.run.completed', { runId: 'run1', sessionId: 'x1', status: 'completed', usage: { inputTokens: 1, outputTokens: 1 }, costUsd: 0.1 }, t0 + 9000)),
      ingestor.ingest(ev('t1', 'task.updated', { taskId: 'task1', title: 'x', status: 'done', previousStatus: 'review' }, t0 + 9000)),
    ]);
    const q = { from: iso(t0 - 1), to: iso(NOW), interval: 'none' as const, filter: {}, limit: 100 };
    const all = await sessionsReport(reports, { ...q, groupBy: [] }, NOW);
    expect(all.totals).toMatchObject({ started: 3, ended: 2, failed: 1, durationSeconds: 540 + 120, maxDurationSeconds: 540, commands: 4, failedCommands: 2, commandSeconds: 5.3 });
    expect(all.active).toBe(1);

    const byUser = await sessionsReport(reports, { ...q, groupBy: ['user'] }, NOW);
    expect(byUser.rows.map((r) => [r.user, r.started, r.commands])).toEqual(expect.arrayContaining([['alice', 2, 3], ['bob', 1, 1]]));
    const p1 = await sessionsReport(reports, { ...q, groupBy: ['project'], filter: { project: 'p1' } }, NOW);
    expect(p1.rows).toEqual([expect.objectContaining({ project: 'p1', started: 2, failed: 1, commands: 4 })]);

    const overview = await overviewReport(reports, { from: iso(t0 - 1), to: iso(NOW) }, NOW);
    expect(overview.agentRuns).toEqual({ completed: 1 });
    expect(overview.tasksCompleted).toBe(1);
    expect(overview.sessions.active).toBe(1);
    expect(overview.events['shell.command.completed']).toBe(4);
  });
});
