import type { AnalyticsOverviewV1, OverviewReportV1 } from '@codeagent/contracts';
import { dayOf } from '../ingest/time';
import type { ReportStore } from './ports';
import { resolveRange } from './range';
import { sessionsReport } from './sessions.report';
import { usageReport } from './usage.report';

/** Usage, sessions, agent runs, tasks and events over [from, to). Event counts are kept per day, so they cover the days the range touches. */
export async function overviewReport(store: ReportStore, q: AnalyticsOverviewV1, now: number, rawSinceMs = -Infinity): Promise<OverviewReportV1> {
  const { fromMs, toMs } = resolveRange(q.from, q.to, now, rawSinceMs);
  const range = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
  const [usage, sessions, agentRuns, tasksCompleted, events] = await Promise.all([
    usageReport(store, { ...range, groupBy: [], interval: 'none', filter: {}, limit: 1 }, now, rawSinceMs),
    sessionsReport(store, { ...range, groupBy: [], interval: 'none', filter: {}, limit: 1 }, now, rawSinceMs),
    store.agentRunOutcomes(fromMs, toMs),
    store.tasksCompleted(fromMs, toMs),
    store.eventCounts(dayOf(fromMs), dayOf(toMs - 1) + 1),
  ]);
  return { ...range, usage: usage.totals, sessions: { ...sessions.totals, active: sessions.active }, agentRuns, tasksCompleted, events };
}
