import type { LatencyDimensionV1, UsageDimensionV1 } from '@codeagent/contracts';
import type { DurationSet, LatencyStore, Percentiles } from '../reports/ports';
import { USAGE_COLUMN } from './report.repository';
import { empty, join, num, raw, sql, type Sql, type SqlRunner } from './sql';


/** The duration columns percentiles are taken over (fixed, like the dimensions). */
const SETS: Record<DurationSet, { table: string; column: string }> = {
  'llm.duration': { table: 'analytics_usage', column: 'duration_ms' },
  'llm.firstToken': { table: 'analytics_usage', column: 'first_token_ms' },
  command: { table: 'analytics_command', column: 'duration_ms' },
};

/**
 * Percentiles by nearest rank, computed by the database: each group's durations are numbered in
 * ascending order by a window function and only the rows at rank ceil(n/2), ceil(95n/100) and n come
 * back, so a report over a million calls reads three rows per group. Integer division stands in for
 * ceil ((n + 1) / 2, (95n + 99) / 100), which both SQLite and PostgreSQL do alike on integers.
 */
export class LatencyRepository implements LatencyStore {
  constructor(private readonly db: SqlRunner) {}

  async percentiles(
    set: DurationSet,
    fromMs: number,
    toMs: number,
    groupBy: readonly LatencyDimensionV1[],
    filter: Partial<Record<UsageDimensionV1, string>>,
  ): Promise<Percentiles[]> {
    const { table, column } = SETS[set];
    const keys = groupBy.map((d) => raw(USAGE_COLUMN[d]));
    const conditions: Sql[] = [sql`at_ms >= ${BigInt(fromMs)}`, sql`at_ms < ${BigInt(toMs)}`, sql`${raw(column)} IS NOT NULL`];
    for (const [d, v] of Object.entries(filter)) if (v !== undefined) conditions.push(sql`${raw(USAGE_COLUMN[d as UsageDimensionV1])} = ${v}`);
    const partition = keys.length ? sql`PARTITION BY ${join(keys)}` : empty;
    const select = keys.length ? sql`${join(keys.map((c, i) => sql`${c} AS g${raw(String(i))}`))}, ` : empty;
    const rows = await this.db.$queryRaw<Record<string, unknown>[]>(sql`
      SELECT * FROM (
        SELECT ${select}${raw(column)} AS v,
          ROW_NUMBER() OVER (${partition} ORDER BY ${raw(column)}) AS rn,
          COUNT(*) OVER (${partition}) AS n
        FROM ${raw(table)}
        WHERE ${join(conditions, ' AND ')}
      ) ranked
      WHERE rn = (n + 1) / 2 OR rn = (95 * n + 99) / 100 OR rn = n`);
    const groups = new Map<string, Percentiles>();
    for (const r of rows) {
      const dims: Percentiles['dims'] = {};
      groupBy.forEach((d, i) => (dims[d] = String(r[`g${i}`] ?? '')));
      const key = JSON.stringify(groupBy.map((d) => dims[d]));
      const n = num(r.n);
      const rn = num(r.rn);
      const v = num(r.v);
      const g = groups.get(key) ?? { dims, count: n, p50Ms: v, p95Ms: v, maxMs: v };
      // One row may be several ranks at once (n = 1: all three).
      if (rn === Math.floor((n + 1) / 2)) g.p50Ms = v;
      if (rn === Math.floor((95 * n + 99) / 100)) g.p95Ms = v;
      if (rn === n) g.maxMs = v;
      groups.set(key, g);
    }
    return [...groups.values()];
  }

  /** LLM calls in the range and filter that carried no duration. */
  async untimedCalls(fromMs: number, toMs: number, filter: Partial<Record<UsageDimensionV1, string>>): Promise<number> {
    const conditions: Sql[] = [sql`at_ms >= ${BigInt(fromMs)}`, sql`at_ms < ${BigInt(toMs)}`, sql`duration_ms IS NULL`];
    for (const [d, v] of Object.entries(filter)) if (v !== undefined) conditions.push(sql`${raw(USAGE_COLUMN[d as UsageDimensionV1])} = ${v}`);
    const [r] = await this.db.$queryRaw<{ n: unknown }[]>(sql`SELECT COUNT(*) AS n FROM analytics_usage WHERE ${join(conditions, ' AND ')}`);
    return num(r?.n);
  }
}
