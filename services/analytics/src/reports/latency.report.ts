import type { AnalyticsLatencyV1, LatencyReportV1, LatencyStatsV1, LlmLatencyRowV1 } from '@codeagent/contracts';
import type { LatencyStore, Percentiles } from './ports';
import { resolveRange } from './range';

const NONE: LatencyStatsV1 = { count: 0, p50Ms: null, p95Ms: null, maxMs: null };
/** Durations are reported to the tenth of a millisecond. */
const ms = (v: number) => Math.round(v * 10) / 10;
const stats = (p: Percentiles | undefined): LatencyStatsV1 => (p ? { count: p.count, p50Ms: ms(p.p50Ms), p95Ms: ms(p.p95Ms), maxMs: ms(p.maxMs) } : NONE);

/**
 * p50/p95/max of LLM call times per group and of command times, over [from, to). Percentiles need
 * every duration, so only raw facts serve: the range starts no earlier than `rawSinceMs` (what
 * ANALYTICS_RAW_RETENTION_DAYS keeps), and the reply's `from` says where it really started.
 */
export async function latencyReport(store: LatencyStore, q: AnalyticsLatencyV1, now: number, rawSinceMs = -Infinity): Promise<LatencyReportV1> {
  const range = resolveRange(q.from, q.to, now);
  const fromMs = Math.min(Math.max(range.fromMs, rawSinceMs), range.toMs);
  const toMs = range.toMs;
  const groupBy = [...new Set(q.groupBy)];
  const commandFilter = { session: q.filter.session, user: q.filter.user };
  const [calls, first, [callsTotal], [firstTotal], [commands], untimedCalls] = await Promise.all([
    store.percentiles('llm.duration', fromMs, toMs, groupBy, q.filter),
    store.percentiles('llm.firstToken', fromMs, toMs, groupBy, q.filter),
    store.percentiles('llm.duration', fromMs, toMs, [], q.filter),
    store.percentiles('llm.firstToken', fromMs, toMs, [], q.filter),
    store.percentiles('command', fromMs, toMs, [], commandFilter),
    store.untimedCalls(fromMs, toMs, q.filter),
  ]);
  const key = (p: Percentiles) => JSON.stringify(groupBy.map((d) => p.dims[d] ?? ''));
  const firstByKey = new Map(first.map((p) => [key(p), p]));
  const rows = calls
    .map((p): LlmLatencyRowV1 => {
      const row: LlmLatencyRowV1 = { ...stats(p), firstToken: stats(firstByKey.get(key(p))) };
      for (const d of groupBy) row[d] = p.dims[d] ? p.dims[d] : null;
      return row;
    })
    .sort((a, b) => (b.p95Ms ?? 0) - (a.p95Ms ?? 0) || b.count - a.count);
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    groupBy,
    llm: rows,
    llmTotal: { ...stats(callsTotal), firstToken: stats(firstTotal) },
    untimedCalls,
    commands: stats(commands),
  };
}
