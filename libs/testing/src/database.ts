import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export type TestDatabaseKind = 'sqlite' | 'postgres';

/** The kinds a data test runs on: both unless TEST_DATABASES narrows it (e.g. "sqlite"). */
export const TEST_DATABASE_KINDS: TestDatabaseKind[] = (process.env.TEST_DATABASES ?? 'sqlite,postgres')
  .split(',')
  .map((k) => k.trim())
  .filter((k): k is TestDatabaseKind => k === 'sqlite' || k === 'postgres');

/** The PostgreSQL server the tests use (CI and the README start it on 127.0.0.1:5432, trust auth). */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  kind: TestDatabaseKind;
  /** DATABASE_URL for the code under test: a SQLite file of its own, or a PostgreSQL database of its own. */
  url: string;
  /** A folder of its own (the SQLite file lives here); use it as DATA_DIR. */
  dataDir: string;
  /** `{ DATABASE_URL, DATA_DIR }` to hand to a spawned service. */
  env: Record<string, string>;
  /** Drops the database (closing whatever still holds it) and removes the folder. */
  dispose(): Promise<void>;
}

/**
 * A database of its own for one test file (or one test): a fresh SQLite file, or a fresh PostgreSQL
 * database (so services inside it still get their own schemas, as in production). Nothing is shared
 * with other test files running in parallel.
 */
export async function createTestDatabase(kind: TestDatabaseKind, label = 'test'): Promise<TestDatabase> {
  const safe = label.toLowerCase().replace(/[^a-z0-9]/g, '_').slice(0, 30);
  const dataDir = mkdtempSync(path.join(tmpdir(), `codeagent-db-${safe}-`));
  if (kind === 'sqlite') {
    const url = `file:${path.join(dataDir, `${safe}.db`)}`;
    return {
      kind,
      url,
      dataDir,
      env: { DATABASE_URL: url, DATA_DIR: dataDir },
      dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `t_${safe}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(TEST_POSTGRES_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    kind,
    url,
    dataDir,
    env: { DATABASE_URL: url, DATA_DIR: dataDir },
    dispose: async () => {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect().catch((err: Error) => {
    throw new Error(`cannot reach the test PostgreSQL at ${TEST_POSTGRES_URL.replace(/\/\/[^@/]*@/, '//')}: ${err.message}`);
  });
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
