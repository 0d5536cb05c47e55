import type { AnalyticsUsageV1, UsageDimensionV1, UsageReportV1, UsageRowV1, UsageSumsV1 } from '@codeagent/contracts';
import { dayLabel } from '../ingest/time';
import type { Period, ReportStore, UsageGroup } from './ports';
import { planSegments, resolveRange } from './range';

/** Money is summed in floating point; reports round to a billionth of a dollar to hide the noise. */
export const roundUsd = (v: number) => Math.round(v * 1e9) / 1e9;

/**
 * Tokens and cost grouped by the asked dimensions (and day or week), over [from, to). Reads each
 * segment of the range from the cheapest table that holds it and merges the groups.
 */
export async function usageReport(store: ReportStore, q: AnalyticsUsageV1, now: number, rawSinceMs = -Infinity): Promise<UsageReportV1> {
  const { fromMs, toMs } = resolveRange(q.from, q.to, now, rawSinceMs);
  const groupBy = [...new Set(q.groupBy)];
  const period: Period = q.interval;
  const segments = planSegments(fromMs, toMs, period === 'day');
  const parts = await Promise.all(segments.map((s) => store.usageGroups(s, groupBy, period, q.filter)));

  const merged = new Map<string, UsageGroup>();
  for (const g of parts.flat()) {
    const key = JSON.stringify([g.period ?? null, ...groupBy.map((d) => g.dims[d] ?? '')]);
    const m = merged.get(key);
    if (!m) merged.set(key, { ...g, dims: { ...g.dims } });
    else {
      m.calls += g.calls;
      m.inputTokens += g.inputTokens;
      m.outputTokens += g.outputTokens;
      m.costUsd += g.costUsd;
      m.unpriced += g.unpriced;
    }
  }
  const groups = [...merged.values()].sort(
    (a, b) => b.costUsd - a.costUsd || b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens) || (a.period ?? 0) - (b.period ?? 0),
  );
  const totals = sums(groups);
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    groupBy,
    interval: q.interval,
    rows: groups.slice(0, q.limit).map((g) => toRow(g, groupBy)),
    totals,
    truncated: groups.length > q.limit,
    unpricedCalls: groups.reduce((n, g) => n + g.unpriced, 0),
  };
}

function sums(groups: readonly UsageGroup[]): UsageSumsV1 {
  const t = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  for (const g of groups) {
    t.calls += g.calls;
    t.inputTokens += g.inputTokens;
    t.outputTokens += g.outputTokens;
    t.costUsd += g.costUsd;
  }
  return { ...t, totalTokens: t.inputTokens + t.outputTokens, costUsd: roundUsd(t.costUsd) };
}

function toRow(g: UsageGroup, groupBy: readonly UsageDimensionV1[]): UsageRowV1 {
  const row: UsageRowV1 = {
    calls: g.calls,
    inputTokens: g.inputTokens,
    outputTokens: g.outputTokens,
    totalTokens: g.inputTokens + g.outputTokens,
    costUsd: roundUsd(g.costUsd),
  };
  if (g.period !== undefined) row.period = dayLabel(g.period);
  for (const d of groupBy) row[d] = g.dims[d] ? g.dims[d] : null;
  return row;
}
