import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Migration } from './migrations';
import type { DatabaseTarget } from './target';

// Our own small migrator rather than `prisma migrate deploy`: the CLI is a dev dependency that may be
// absent at run time, and its JS engine runs multi-statement scripts through the driver adapter,
// which better-sqlite3 refuses. Each migration runs in a transaction with its row in `_migrations`;
// a lock (SQLite's write lock, a PostgreSQL advisory lock) makes concurrent replicas apply it once.

export interface MigrationResult {
  applied: string[];
  /** Names recorded in the database but unknown here: a newer replica migrated; we go on. */
  unknown: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

interface AppliedRow {
  name: string;
  checksum: string;
}

function plan(migrations: Migration[], applied: AppliedRow[]): { pending: Migration[]; unknown: string[] } {
  const byName = new Map(applied.map((r) => [r.name, r.checksum]));
  for (const m of migrations) {
    const sum = byName.get(m.name);
    if (sum !== undefined && sum !== m.checksum) {
      throw new MigrationError(
        `migration ${m.name} was applied with other contents (checksum ${sum.slice(0, 12)}, file ${m.checksum.slice(0, 12)}): ` +
          'never edit an applied migration; add a new one',
      );
    }
  }
  const known = new Set(migrations.map((m) => m.name));
  return { pending: migrations.filter((m) => !byName.has(m.name)), unknown: applied.map((r) => r.name).filter((n) => !known.has(n)) };
}

export function migrateSqlite(file: string, migrations: Migration[]): MigrationResult {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new BetterSqlite3(file, { timeout: 30_000 });
  try {
    // WAL lets readers go on while a writer writes; it is a property of the file, kept from here on.
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS "_migrations" ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TEXT NOT NULL)');
    // BEGIN IMMEDIATE takes the write lock first, so a second process waits here, then sees our rows.
    db.exec('BEGIN IMMEDIATE');
    try {
      const applied = db.prepare('SELECT name, checksum FROM "_migrations"').all() as AppliedRow[];
      const { pending, unknown } = plan(migrations, applied);
      const record = db.prepare('INSERT INTO "_migrations" (name, checksum, applied_at) VALUES (?, ?, ?)');
      for (const m of pending) {
        try {
          db.exec(m.sql);
        } catch (err) {
          throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        record.run(m.name, m.checksum, new Date().toISOString());
      }
      db.exec('COMMIT');
      return { applied: pending.map((m) => m.name), unknown };
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  } finally {
    db.close();
  }
}

/** A stable 32-bit key for pg_advisory_lock from the schema's name. */
function lockKey(schema: string): number {
  let h = 0x811c9dc5;
  for (const c of `codeagent-migrate:${schema}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h | 0;
}

export async function migratePostgres(url: string, schema: string, migrations: Migration[]): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey(schema)]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
      await client.query(`SET search_path TO ${q(schema)}`);
      await client.query('CREATE TABLE IF NOT EXISTS "_migrations" ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now())');
      const applied = (await client.query<AppliedRow>('SELECT name, checksum FROM "_migrations"')).rows;
      const { pending, unknown } = plan(migrations, applied);
      for (const m of pending) {
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO "_migrations" (name, checksum) VALUES ($1, $2)', [m.name, m.checksum]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`migration ${m.name} failed in schema ${schema}: ${(err as Error).message}`);
        }
      }
      return { applied: pending.map((m) => m.name), unknown };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [lockKey(schema)]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/** Applies the pending migrations to a target. */
export async function applyMigrations(target: DatabaseTarget, migrations: Migration[]): Promise<MigrationResult> {
  return target.kind === 'sqlite' ? migrateSqlite(target.file, migrations) : migratePostgres(target.url, target.schema, migrations);
}
