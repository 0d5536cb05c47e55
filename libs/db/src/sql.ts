import type BetterSqlite3 from 'better-sqlite3';
import type { Pool } from 'pg';
import { dbSpan } from './tracing';

/** A value bound to a `?` placeholder. A Date is written the way Prisma writes a DateTime on that engine; a Buffer is a BLOB (bytea). */
export type SqlValue = string | number | null | Date | Buffer;
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

/**
 * A DateTime column selected as text (`CAST(... AS TEXT) AS ...`, the column quoted as given): the
 * pg driver would read a timestamp without time zone in the host's zone. Read it with readTimestamp.
 */
export function timestampAsText(column: string): string {
  return `CAST(${column} AS TEXT) AS ${column}`;
}

/** A DateTime as timestampAsText gives it: SQLite's ISO text with its offset, PostgreSQL's UTC without one. */
export function readTimestamp(text: unknown): Date {
  const s = String(text);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
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
      const stmt = prepared(db, sql);
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
      prepared(db, 'COMMIT').run();
      return result;
    } catch (err) {
      if (db.inTransaction) prepared(db, 'ROLLBACK').run();
      throw err;
    } finally {
      await tx.commit(); // releases the lock
    }
  };
  return { run: (sql, params) => inTransaction((run) => run(sql, params)), transaction: inTransaction };
}

/** Statements prepared on a connection, by their SQL (most are the same few texts, run again and again). */
const statements = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();
/** Enough for every distinct text a service runs; a service that makes more starts its cache again. */
const MAX_STATEMENTS = 500;

/** Preparing a statement cost more than running it on the create path (~2 ms of a session's create and close). */
function prepared(db: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let stmt = byText.get(sql);
  if (!stmt) {
    if (byText.size >= MAX_STATEMENTS) byText.clear();
    stmt = db.prepare(sql).safeIntegers(false);
    byText.set(sql, stmt);
  }
  return stmt;
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
