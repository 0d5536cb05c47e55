import type { UsageDimensionV1 } from '@codeagent/contracts';
import type { CommandGroup, Period, ReportStore, SessionRecord, UsageGroup } from '../reports/ports';
import type { Segment } from '../reports/range';
import { chunks, empty, join, num, raw, sql, type Sql, type SqlRunner } from './sql';

/** Column of each usage dimension (a fixed list: never a caller's string in the SQL). */
export const USAGE_COLUMN: Record<UsageDimensionV1, string> = {
  provider: 'provider',
  model: 'model',
  role: '"role"',
  session: '"session"',
  user: 'user_id',
  project: 'project',
};

const TABLES = {
  usage: { raw: 'analytics_usage', day: 'analytics_usage_daily', week: 'analytics_usage_weekly' },
  command: { raw: 'analytics_command', day: 'analytics_command_daily', week: 'analytics_command_weekly' },
} as const;

/** The table and the time condition of one segment. */
function source(kind: keyof typeof TABLES, s: Segment): { table: Sql; where: Sql } {
  const table = raw(TABLES[kind][s.source]);
  if (s.source === 'raw') return { table, where: sql`at_ms >= ${BigInt(s.fromMs)} AND at_ms < ${BigInt(s.toMs)}` };
  if (s.source === 'day') return { table, where: sql`"day" >= ${s.fromDay} AND "day" < ${s.toDay}` };
  return { table, where: sql`"week" >= ${s.fromWeek} AND "week" < ${s.toWeek}` };
}

function periodColumn(period: Period): Sql | undefined {
  if (period === 'none') return undefined;
  return raw(period === 'day' ? '"day"' : '"week"');
}

/** The report queries; every one is a GROUP BY over an indexed range of one table. */
export class ReportRepository implements ReportStore {
  constructor(private readonly db: SqlRunner) {}

  async usageGroups(segment: Segment, groupBy: readonly UsageDimensionV1[], period: Period, filter: Partial<Record<UsageDimensionV1, string>>): Promise<UsageGroup[]> {
    const { table, where } = source('usage', segment);
    const keys = groupBy.map((d) => raw(USAGE_COLUMN[d]));
    const p = periodColumn(period);
    const groupCols = p ? [...keys, p] : keys;
    const conditions = [where, ...Object.entries(filter).filter(([, v]) => v !== undefined).map(([d, v]) => sql`${raw(USAGE_COLUMN[d as UsageDimensionV1])} = ${v}`)];
    const sums =
      segment.source === 'raw'
        ? sql`COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd, SUM(1 - priced) AS unpriced`
        : sql`SUM(calls) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd, SUM(unpriced) AS unpriced`;
    const select = groupCols.length ? sql`${join(groupCols.map((c, i) => sql`${c} AS g${raw(String(i))}`))}, ` : empty;
    const rows = await this.db.$queryRaw<Record<string, unknown>[]>(sql`
      SELECT ${select}${sums}
      FROM ${table}
      WHERE ${join(conditions, ' AND ')}
      ${groupCols.length ? sql`GROUP BY ${join(groupCols)}` : empty}`);
    return rows
      .filter((r) => num(r.calls) > 0)
      .map((r) => {
        const dims: UsageGroup['dims'] = {};
        groupBy.forEach((d, i) => (dims[d] = String(r[`g${i}`] ?? '')));
        return {
          dims,
          period: p ? num(r[`g${keys.length}`]) : undefined,
          calls: num(r.calls),
          inputTokens: num(r.input_tokens),
          outputTokens: num(r.output_tokens),
          costUsd: num(r.cost_usd),
          unpriced: num(r.unpriced),
        };
      });
  }

  async commandGroups(segment: Segment, period: Period, filter: { user?: string }): Promise<CommandGroup[]> {
    const { table, where } = source('command', segment);
    const p = periodColumn(period);
    const sums =
      segment.source === 'raw'
        ? sql`COUNT(*) AS commands, SUM(CASE WHEN exit_code <> 0 OR timed_out <> 0 THEN 1 ELSE 0 END) AS failed, SUM(duration_ms) AS duration_ms`
        : sql`SUM(commands) AS commands, SUM(failed) AS failed, SUM(duration_ms) AS duration_ms`;
    const rows = await this.db.$queryRaw<Record<string, unknown>[]>(sql`
      SELECT "session" AS session_id, user_id, ${p ? sql`${p} AS period, ` : empty}${sums}
      FROM ${table}
      WHERE ${where}${filter.user ? sql` AND user_id = ${filter.user}` : empty}
      GROUP BY "session", user_id${p ? sql`, ${p}` : empty}`);
    return rows.map((r) => ({
      session: String(r.session_id),
      user: String(r.user_id),
      period: p ? num(r.period) : undefined,
      commands: num(r.commands),
      failed: num(r.failed),
      durationMs: num(r.duration_ms),
    }));
  }

  async sessionsStarted(fromMs: number, toMs: number, filter: { user?: string; project?: string }): Promise<SessionRecord[]> {
    const rows = await this.db.$queryRaw<Record<string, unknown>[]>(sql`
      SELECT "session" AS session_id, user_id, project, started_at_ms, ended_at_ms, outcome FROM analytics_session
      WHERE started_at_ms >= ${BigInt(fromMs)} AND started_at_ms < ${BigInt(toMs)}
      ${filter.user ? sql`AND user_id = ${filter.user}` : empty} ${filter.project ? sql`AND project = ${filter.project}` : empty}`);
    return rows.map(toSession);
  }

  async sessionsById(ids: readonly string[]): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const part of chunks(ids)) {
      const rows = await this.db.$queryRaw<Record<string, unknown>[]>(sql`
        SELECT "session" AS session_id, user_id, project, started_at_ms, ended_at_ms, outcome FROM analytics_session WHERE "session" IN (${join(part)})`);
      out.push(...rows.map(toSession));
    }
    return out;
  }

  async activeSessions(): Promise<number> {
    const [r] = await this.db.$queryRaw<{ n: unknown }[]>(sql`SELECT COUNT(*) AS n FROM analytics_session WHERE started_at_ms IS NOT NULL AND ended_at_ms IS NULL`);
    return num(r?.n);
  }

  async agentRunOutcomes(fromMs: number, toMs: number): Promise<Record<string, number>> {
    const rows = await this.db.$queryRaw<{ status: string; n: unknown }[]>(sql`
      SELECT status, COUNT(*) AS n FROM analytics_agent_run WHERE at_ms >= ${BigInt(fromMs)} AND at_ms < ${BigInt(toMs)} GROUP BY status`);
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }

  async tasksCompleted(fromMs: number, toMs: number): Promise<number> {
    const [r] = await this.db.$queryRaw<{ n: unknown }[]>(sql`
      SELECT COUNT(*) AS n FROM analytics_task_completion WHERE at_ms >= ${BigInt(fromMs)} AND at_ms < ${BigInt(toMs)}`);
    return num(r?.n);
  }

  async eventCounts(fromDay: number, toDay: number): Promise<Record<string, number>> {
    const rows = await this.db.$queryRaw<{ name: string; n: unknown }[]>(sql`
      SELECT name, SUM("count") AS n FROM analytics_event_count WHERE "day" >= ${fromDay} AND "day" < ${toDay} GROUP BY name`);
    return Object.fromEntries(rows.map((r) => [r.name, num(r.n)]));
  }
}

function toSession(r: Record<string, unknown>): SessionRecord {
  return {
    session: String(r.session_id),
    user: String(r.user_id ?? ''),
    project: String(r.project ?? ''),
    startedAtMs: r.started_at_ms === null || r.started_at_ms === undefined ? undefined : num(r.started_at_ms),
    endedAtMs: r.ended_at_ms === null || r.ended_at_ms === undefined ? undefined : num(r.ended_at_ms),
    outcome: typeof r.outcome === 'string' ? r.outcome : undefined,
  };
}
