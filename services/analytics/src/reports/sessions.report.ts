import type { AnalyticsSessionsV1, SessionDimensionV1, SessionRowV1, SessionsReportV1, SessionSumsV1 } from '@codeagent/contracts';
import { dayLabel, dayOf, weekOf } from '../ingest/time';
import type { CommandGroup, Period, ReportStore, SessionRecord } from './ports';
import { planSegments, resolveRange } from './range';

interface Acc {
  period?: number;
  dims: Partial<Record<SessionDimensionV1, string>>;
  started: number;
  ended: number;
  failed: number;
  durationMs: number;
  maxDurationMs: number;
  commands: number;
  failedCommands: number;
  commandMs: number;
}

/**
 * Sessions started in [from, to) (counts, outcomes, durations of the ended ones) and the commands
 * completed in it, grouped by the session's user and project and by day or week. A command is
 * attributed to its session's user and project; to its own user when the session is unknown.
 */
export async function sessionsReport(store: ReportStore, q: AnalyticsSessionsV1, now: number, rawSinceMs = -Infinity): Promise<SessionsReportV1> {
  const { fromMs, toMs } = resolveRange(q.from, q.to, now, rawSinceMs);
  const groupBy = [...new Set(q.groupBy)];
  const period: Period = q.interval;
  const [started, commandParts, active] = await Promise.all([
    store.sessionsStarted(fromMs, toMs, q.filter),
    Promise.all(planSegments(fromMs, toMs, period === 'day').map((s) => store.commandGroups(s, period, {}))),
    store.activeSessions(),
  ]);
  const commands = commandParts.flat();
  const known = new Map<string, SessionRecord>(started.map((s) => [s.session, s]));
  const missing = [...new Set(commands.map((c) => c.session))].filter((id) => id && !known.has(id));
  for (const s of missing.length ? await store.sessionsById(missing) : []) known.set(s.session, s);

  const groups = new Map<string, Acc>();
  const acc = (p: number | undefined, user: string, project: string): Acc | undefined => {
    if (q.filter.user && q.filter.user !== user) return undefined;
    if (q.filter.project && q.filter.project !== project) return undefined;
    const dims: Acc['dims'] = {};
    if (groupBy.includes('user')) dims.user = user;
    if (groupBy.includes('project')) dims.project = project;
    const key = JSON.stringify([p ?? null, dims.user ?? null, dims.project ?? null]);
    let a = groups.get(key);
    if (!a) {
      a = { period: p, dims, started: 0, ended: 0, failed: 0, durationMs: 0, maxDurationMs: 0, commands: 0, failedCommands: 0, commandMs: 0 };
      groups.set(key, a);
    }
    return a;
  };

  for (const s of started) {
    const a = acc(bucket(s.startedAtMs!, period), s.user, s.project);
    if (!a) continue;
    a.started++;
    if (s.endedAtMs !== undefined) {
      const d = Math.max(0, s.endedAtMs - s.startedAtMs!);
      a.ended++;
      a.durationMs += d;
      a.maxDurationMs = Math.max(a.maxDurationMs, d);
      if (s.outcome === 'failed') a.failed++;
    }
  }
  for (const c of commands) addCommands(c, known.get(c.session), acc);

  const all = [...groups.values()].sort((a, b) => (a.period ?? 0) - (b.period ?? 0) || b.started - a.started || b.commands - a.commands);
  const total = all.reduce<Acc>(
    (t, a) => ({
      ...t,
      started: t.started + a.started,
      ended: t.ended + a.ended,
      failed: t.failed + a.failed,
      durationMs: t.durationMs + a.durationMs,
      maxDurationMs: Math.max(t.maxDurationMs, a.maxDurationMs),
      commands: t.commands + a.commands,
      failedCommands: t.failedCommands + a.failedCommands,
      commandMs: t.commandMs + a.commandMs,
    }),
    { dims: {}, started: 0, ended: 0, failed: 0, durationMs: 0, maxDurationMs: 0, commands: 0, failedCommands: 0, commandMs: 0 },
  );
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    groupBy,
    interval: q.interval,
    rows: all.slice(0, q.limit).map((a) => toRow(a, groupBy)),
    totals: toSums(total),
    active,
    truncated: all.length > q.limit,
  };
}

function addCommands(c: CommandGroup, s: SessionRecord | undefined, acc: (p: number | undefined, user: string, project: string) => Acc | undefined): void {
  const a = acc(c.period, s?.user || c.user, s?.project ?? '');
  if (!a) return;
  a.commands += c.commands;
  a.failedCommands += c.failed;
  a.commandMs += c.durationMs;
}

function bucket(ms: number, period: Period): number | undefined {
  if (period === 'none') return undefined;
  const day = dayOf(ms);
  return period === 'day' ? day : weekOf(day);
}

function toSums(a: Acc): SessionSumsV1 {
  return {
    started: a.started,
    ended: a.ended,
    failed: a.failed,
    durationSeconds: a.durationMs / 1000,
    avgDurationSeconds: a.ended ? a.durationMs / a.ended / 1000 : 0,
    maxDurationSeconds: a.maxDurationMs / 1000,
    commands: a.commands,
    failedCommands: a.failedCommands,
    commandSeconds: a.commandMs / 1000,
  };
}

function toRow(a: Acc, groupBy: readonly SessionDimensionV1[]): SessionRowV1 {
  const row: SessionRowV1 = toSums(a);
  if (a.period !== undefined) row.period = dayLabel(a.period);
  for (const d of groupBy) row[d] = a.dims[d] ? a.dims[d] : null;
  return row;
}
