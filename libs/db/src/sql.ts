import type BetterSqlite3 from 'better-sqlite3';
import type { Pool } from 'pg';
import { dbSpan } from './tracing';

/** A value bound to a `?` placeholder. A Date is written the way Prisma writes a DateTime on that engine. */
export type SqlValue = string | number | null | Date;
export type SqlRow = Record<string, unknown>;
/** Runs one statement; resolves with the rows it returns (`SELECT`, `RETURNING`), else none. */
export type SqlRun = (sql: string, params?: SqlValue[]) => Promise<SqlRow[]>;

/**
 * Plain SQL on the service's own connection, for the few hot paths where Prisma costs more than the
 * query: its query compiler handles every bound value, which makes a 200 KB text column cost ~25 ms
 * per MB (the driver alone: ~3). Placeholders are `?` (numbered for PostgreSQL; so no literal `?` in
 * the SQL); integers come back as numbers.
 */
export interface SqlRunner {
  /** Runs one statement on its own, committed when it resolves. */
  run: SqlRun;
  /** Runs `fn`'s statements in one transaction, taking turns with Prisma's transactions. */
  transaction<T>(fn: (run: SqlRun) => Promise<T>): Promise<T>;
}

/** The statement's first word (`SELECT`, `INSERT`, ...): the SQL's text and bound values are never on a span. */
const OPERATION = /^\s*([A-Za-z]+)/;

/**
 * A runner whose statements and transactions made inside a trace are CLIENT spans of it, like the
 * Prisma query spans (tracing.ts). These runners are the data plane's hot paths, hence one span per
 * `run` or `transaction` (not per statement inside a transaction), and no context switch around the
 * driver call.
 */
export function withStatementSpans(system: 'sqlite' | 'postgresql', runner: SqlRunner): SqlRunner {
  const describe = (operation: string) => () => ({ name: operation, attributes: { 'db.system': system, 'db.operation.name': operation } });
  return {
    run: (sql, params) => dbSpan(() => describe(OPERATION.exec(sql)?.[1]?.toUpperCase() ?? 'statement')(), () => runner.run(sql, params), false),
    transaction: (fn) => dbSpan(describe('transaction'), () => runner.transaction(fn), false),
  };
}

/** What this file needs of @prisma/adapter-better-sqlite3's adapter (its types are not exported). */
export interface SqliteAdapter {
  startTransaction(): Promise<{ client: BetterSqlite3.Database; commit(): Promise<void> }>;
}

/**
 * SQLite: through the Prisma adapter's own connection and its transaction lock, every statement too,
 * so none waits on (or slips into) one of Prisma's transactions open on the same connection.
 */
export function sqliteRunner(adapter: () => SqliteAdapter | undefined): SqlRunner {
  const runOn =
    (db: BetterSqlite3.Database): SqlRun =>
    async (sql, params = []) => {
      const stmt = db.prepare(sql).safeIntegers(false);
      const args = params.map((v) => (v instanceof Date ? v.toISOString().replace('Z', '+00:00') : v));
      if (stmt.reader) return stmt.all(...args) as SqlRow[];
      stmt.run(...args);
      return [];
    };
  const inTransaction: SqlRunner['transaction'] = async (fn) => {
    const a = adapter();
    if (!a) throw new Error('the database is not connected');
    const tx = await a.startTransaction(); // BEGIN, holding the adapter's lock
    const db = tx.client;
    const run = runOn(db);
    try {
      const result = await fn(run);
      db.prepare('COMMIT').run();
      return result;
    } catch (err) {
      if (db.inTransaction) db.prepare('ROLLBACK').run();
      throw err;
    } finally {
      await tx.commit(); // releases the lock
    }
  };
  return { run: (sql, params) => inTransaction((run) => run(sql, params)), transaction: inTransaction };
}

/** PostgreSQL: the pool Prisma uses (its search_path names the service's schema); a statement on its own autocommits. */
export function postgresRunner(pool: Pool): SqlRunner {
  const runOn =
    (client: Pick<Pool, 'query'>): SqlRun =>
    async (sql, params = []) => {
      let n = 0;
      // timestamp(3) without time zone: the zone of an ISO string is ignored, so UTC is stored as Prisma does.
      const args = params.map((v) => (v instanceof Date ? v.toISOString() : v));
      return (await client.query(sql.replace(/\?/g, () => `$${++n}`), args)).rows as SqlRow[];
    };
  const inTransaction: SqlRunner['transaction'] = async (fn) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(runOn(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  return { run: runOn(pool), transaction: inTransaction };
}
