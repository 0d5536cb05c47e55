import type { DatabaseKind, SqlRow, SqlRun, SqlRunner as Driver, SqlValue } from '@codeagent/db';
import type { Facts } from '../ingest/facts';
import type { IngestStore } from '../ingest/ports';
import { buildWrites, type Writes } from '../ingest/rollup';
import { weekOf } from '../ingest/time';
import { raw, sql, type Sql } from './sql';

/** Runs one statement built with `sql` on the driver (its `?` placeholders and values). */
type Exec = (query: Sql) => Promise<SqlRow[]>;
const exec =
  (run: SqlRun): Exec =>
  (query) =>
    run(query.sql, query.values as SqlValue[]);

/** Column types of the JSON row sets below; each becomes a portable CAST. */
type ColumnType = 'text' | 'int' | 'bigint' | 'double' | 'text?' | 'bigint?' | 'double?';
const CAST: Record<ColumnType, (e: string) => string> = {
  text: (e) => e,
  'text?': (e) => e,
  int: (e) => `CAST(${e} AS INTEGER)`,
  bigint: (e) => `CAST(${e} AS BIGINT)`,
  'bigint?': (e) => `CAST(${e} AS BIGINT)`,
  double: (e) => `CAST(${e} AS DOUBLE PRECISION)`,
  'double?': (e) => `CAST(${e} AS DOUBLE PRECISION)`,
};

/**
 * A whole batch goes to the database as ONE parameter per table: a JSON array of rows, unpacked by
 * the database (`json_each` in SQLite, `jsonb_array_elements` in PostgreSQL). Binding each value
 * separately costs Prisma's query compiler more than the database spends on the insert (measured:
 * most of a batch's time with 15 parameters per row), so the JSON form is what makes batches cheap.
 */
class RowSets {
  constructor(private readonly kind: DatabaseKind) {}

  /** `SELECT <casts> FROM <rows of json>` for `INSERT ... SELECT`. */
  select(columns: readonly ColumnType[], rows: readonly unknown[][]): Sql {
    const json = JSON.stringify(rows);
    const from = this.kind === 'sqlite' ? sql`json_each(${json})` : sql`jsonb_array_elements(CAST(${json} AS jsonb)) AS je(value)`;
    const exprs = columns.map((t, i) => CAST[t](`value ->> ${i}`)).join(', ');
    // WHERE true: SQLite needs it to tell an upsert's ON CONFLICT from a join's ON after INSERT ... SELECT.
    return sql`SELECT ${raw(exprs)} FROM ${from} WHERE true`;
  }
}

export class IngestRepository implements IngestStore {
  private readonly rows: RowSets;

  /**
   * On the database driver, not Prisma's raw queries: its query compiler handled each batch's JSON
   * parameter (~100 KB) once per statement, about a seventh of the service's time while it ingested.
   */
  constructor(
    private readonly driver: Driver,
    kind: DatabaseKind,
    private readonly now: () => number = Date.now,
  ) {
    this.rows = new RowSets(kind);
  }

  commit(facts: readonly Facts[]): Promise<{ fresh: ReadonlySet<string>; writes: Writes }> {
    return this.driver.transaction(async (run) => {
      const tx = exec(run);
      // Record the ids; those already recorded (a redelivery) are not inserted and not returned, so
      // the rest are this batch's fresh events. Under PostgreSQL, an id another replica's open
      // transaction inserted waits for its end: recorded there, it is not fresh here; rolled back,
      // it is. In id order, so that two replicas recording the same ids lock them in the same order.
      const recordedAt = this.now();
      const ordered = [...facts].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
      const inserted = (await tx(sql`
        INSERT INTO analytics_processed_event (id, name, at_ms, recorded_at_ms)
        ${this.rows.select(['text', 'text', 'bigint', 'bigint'], ordered.map((f) => [f.eventId, f.name, f.atMs, recordedAt]))}
        ON CONFLICT (id) DO NOTHING RETURNING id`)) as Array<{ id: string }>;
      const fresh = new Set(inserted.map((r) => r.id));
      const candidates = ordered.filter((f) => fresh.has(f.eventId));
      const writes = buildWrites(candidates);
      await applyWrites(tx, this.rows, writes);
      return { fresh, writes };
    });
  }

  /**
   * Forgets ids recorded before `beforeMs`: redeliveries come within minutes, the table need not grow
   * forever. Deletes in slices so that no single statement holds the write lock for long (on SQLite
   * it would stall ingestion); so does pruneRaw.
   */
  pruneProcessed(beforeMs: number, slice = 5000): Promise<number> {
    return this.deleteInSlices('analytics_processed_event', 'id', 'recorded_at_ms', beforeMs, slice);
  }

  /**
   * Deletes raw usage and command facts that happened before `beforeMs` (a UTC midnight): the daily
   * and weekly rollups hold their sums, and reports read whole days from them before that instant.
   */
  async pruneRaw(beforeMs: number, slice = 5000): Promise<number> {
    return (
      (await this.deleteInSlices('analytics_usage', 'event_id', 'at_ms', beforeMs, slice)) +
      (await this.deleteInSlices('analytics_command', 'event_id', 'at_ms', beforeMs, slice))
    );
  }

  private async deleteInSlices(table: string, key: string, time: string, beforeMs: number, slice: number): Promise<number> {
    let total = 0;
    const run = exec((text, params) => this.driver.run(text, params));
    for (;;) {
      const n = (await run(sql`
        DELETE FROM ${raw(table)} WHERE ${raw(key)} IN (SELECT ${raw(key)} FROM ${raw(table)} WHERE ${raw(time)} < ${beforeMs} LIMIT ${slice}) RETURNING ${raw(key)}`)).length;
      total += n;
      if (n < slice) return total;
    }
  }
}

/** Inserts rows given as arrays in `columns` order; nothing when there are none. */
async function insert(tx: Exec, rows: RowSets, head: string, columns: readonly ColumnType[], data: readonly unknown[][], tail = ''): Promise<void> {
  if (data.length === 0) return;
  await tx(sql`${raw(head)} ${rows.select(columns, data)} ${raw(tail)}`);
}

const USAGE_SUMS = `calls = t.calls + excluded.calls, input_tokens = t.input_tokens + excluded.input_tokens,
  output_tokens = t.output_tokens + excluded.output_tokens, cost_usd = t.cost_usd + excluded.cost_usd, unpriced = t.unpriced + excluded.unpriced`;
const COMMAND_SUMS = 'commands = t.commands + excluded.commands, failed = t.failed + excluded.failed, duration_ms = t.duration_ms + excluded.duration_ms';
const DIMS: ColumnType[] = ['text', 'text', 'text', 'text', 'text', 'text'];
const USAGE_NUMS: ColumnType[] = ['bigint', 'bigint', 'bigint', 'double', 'bigint'];

async function applyWrites(tx: Exec, rows: RowSets, w: Writes): Promise<void> {
  await insert(
    tx, rows,
    'INSERT INTO analytics_usage (event_id, at_ms, "day", "week", provider, model, "role", "session", user_id, project, run, input_tokens, output_tokens, cost_usd, priced, duration_ms, first_token_ms)',
    ['text', 'bigint', 'int', 'int', ...DIMS, 'text', 'bigint', 'bigint', 'double', 'int', 'double?', 'double?'],
    w.usage.map((u) => [
      u.eventId, u.atMs, u.day, u.week, u.provider, u.model, u.role, u.session, u.user, u.project, u.run, u.inputTokens, u.outputTokens, u.costUsd, u.priced ? 1 : 0,
      u.durationMs ?? null, u.firstTokenMs ?? null,
    ]),
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_usage_daily AS t ("day", "week", provider, model, "role", "session", user_id, project, calls, input_tokens, output_tokens, cost_usd, unpriced)',
    ['int', 'int', ...DIMS, ...USAGE_NUMS],
    w.usageDaily.map((r) => [r.bucket, weekOf(r.bucket), r.provider, r.model, r.role, r.session, r.user, r.project, r.calls, r.inputTokens, r.outputTokens, r.costUsd, r.unpriced]),
    `ON CONFLICT ("day", provider, model, "role", "session", user_id, project) DO UPDATE SET ${USAGE_SUMS}`,
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_usage_weekly AS t ("week", provider, model, "role", "session", user_id, project, calls, input_tokens, output_tokens, cost_usd, unpriced)',
    ['int', ...DIMS, ...USAGE_NUMS],
    w.usageWeekly.map((r) => [r.bucket, r.provider, r.model, r.role, r.session, r.user, r.project, r.calls, r.inputTokens, r.outputTokens, r.costUsd, r.unpriced]),
    `ON CONFLICT ("week", provider, model, "role", "session", user_id, project) DO UPDATE SET ${USAGE_SUMS}`,
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_command (event_id, at_ms, "day", "week", "session", user_id, exit_code, duration_ms, timed_out)',
    ['text', 'bigint', 'int', 'int', 'text', 'text', 'int', 'double', 'int'],
    w.commands.map((c) => [c.eventId, c.atMs, c.day, c.week, c.session, c.user, c.exitCode, c.durationMs, c.timedOut ? 1 : 0]),
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_command_daily AS t ("day", "week", "session", user_id, commands, failed, duration_ms)',
    ['int', 'int', 'text', 'text', 'bigint', 'bigint', 'double'],
    w.commandDaily.map((r) => [r.bucket, weekOf(r.bucket), r.session, r.user, r.commands, r.failed, r.durationMs]),
    `ON CONFLICT ("day", "session", user_id) DO UPDATE SET ${COMMAND_SUMS}`,
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_command_weekly AS t ("week", "session", user_id, commands, failed, duration_ms)',
    ['int', 'text', 'text', 'bigint', 'bigint', 'double'],
    w.commandWeekly.map((r) => [r.bucket, r.session, r.user, r.commands, r.failed, r.durationMs]),
    `ON CONFLICT ("week", "session", user_id) DO UPDATE SET ${COMMAND_SUMS}`,
  );
  // Session events arrive in any order: keep the earliest start, the latest end, a known user and
  // project, and `failed` once it failed.
  await insert(
    tx, rows,
    'INSERT INTO analytics_session AS t ("session", user_id, project, started_at_ms, ended_at_ms, outcome)',
    ['text', 'text', 'text', 'bigint?', 'bigint?', 'text?'],
    w.sessions.map((s) => [s.session, s.user ?? '', s.project ?? '', s.startedAtMs ?? null, s.endedAtMs ?? null, s.outcome ?? null]),
    `ON CONFLICT ("session") DO UPDATE SET
      user_id = CASE WHEN excluded.user_id <> '' THEN excluded.user_id ELSE t.user_id END,
      project = CASE WHEN excluded.project <> '' THEN excluded.project ELSE t.project END,
      started_at_ms = CASE WHEN t.started_at_ms IS NULL OR excluded.started_at_ms < t.started_at_ms THEN COALESCE(excluded.started_at_ms, t.started_at_ms) ELSE t.started_at_ms END,
      ended_at_ms = CASE WHEN t.ended_at_ms IS NULL OR excluded.ended_at_ms > t.ended_at_ms THEN COALESCE(excluded.ended_at_ms, t.ended_at_ms) ELSE t.ended_at_ms END,
      outcome = CASE WHEN t.outcome = 'failed' THEN t.outcome ELSE COALESCE(excluded.outcome, t.outcome) END`,
  );
  // One row per run (the latest completion wins); two completions of one run in one statement would
  // touch a row twice, which PostgreSQL refuses.
  const runs = new Map<string, (typeof w.agentRuns)[number]>();
  for (const r of w.agentRuns) if (!runs.has(r.run) || r.atMs >= runs.get(r.run)!.atMs) runs.set(r.run, r);
  await insert(
    tx, rows,
    'INSERT INTO analytics_agent_run AS t (run, event_id, "session", project, status, at_ms, "day", input_tokens, output_tokens, cost_usd)',
    ['text', 'text', 'text', 'text', 'text', 'bigint', 'int', 'bigint', 'bigint', 'double'],
    [...runs.values()].map((r) => [r.run, r.eventId, r.session, r.project, r.status, r.atMs, r.day, r.inputTokens, r.outputTokens, r.costUsd]),
    `ON CONFLICT (run) DO UPDATE SET event_id = excluded.event_id, status = excluded.status, at_ms = excluded.at_ms, "day" = excluded."day",
      input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd
      WHERE excluded.at_ms >= t.at_ms`,
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_task_completion (event_id, task, at_ms, "day")',
    ['text', 'text', 'bigint', 'int'],
    w.tasks.map((t) => [t.eventId, t.task, t.atMs, t.day]),
    'ON CONFLICT (event_id) DO NOTHING',
  );
  await insert(
    tx, rows,
    'INSERT INTO analytics_event_count AS t ("day", name, "count")',
    ['int', 'text', 'bigint'],
    w.eventCounts.map((c) => [c.day, c.name, c.count]),
    'ON CONFLICT ("day", name) DO UPDATE SET "count" = t."count" + excluded."count"',
  );
}
