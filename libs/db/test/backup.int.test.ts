import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { applyMigrations } from '../src/migrator';
import type { Migration } from '../src/migrations';
import { resolveTarget, type DatabaseTarget } from '../src/target';
import { dumpDatabase, dumpFileName, restoreDatabase, scheduleDatabaseSnapshots } from '../src/backup/index';

// Backups of a service's database on the real SQLite and PostgreSQL: a copy taken while a writer
// commits pairs of rows is one instant of the database (never half a pair), restores field by field
// into a fresh target, refuses to overwrite data, and the daily snapshots keep one file per period.
const m = (name: string, sql: string): Migration => ({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
const SCHEMA: Record<DatabaseTarget['kind'], Migration[]> = {
  sqlite: [
    m(
      '20260101000000_init',
      `CREATE TABLE "owners" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "joined" DATETIME NOT NULL, "admin" BOOLEAN NOT NULL, "meta" JSONB, "score" REAL, "big" BIGINT);
       CREATE TABLE "things" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "owner_id" TEXT NOT NULL REFERENCES "owners"("id"), "body" BLOB, "note" TEXT);`,
    ),
  ],
  postgres: [
    m(
      '20260101000000_init',
      `CREATE TABLE "owners" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "joined" TIMESTAMPTZ(3) NOT NULL, "admin" BOOLEAN NOT NULL, "meta" JSONB, "score" DOUBLE PRECISION, "big" BIGINT);
       CREATE TABLE "things" ("id" SERIAL PRIMARY KEY, "owner_id" TEXT NOT NULL REFERENCES "owners"("id"), "body" BYTEA, "note" TEXT);`,
    ),
  ],
};

/** The two tables' rows, ordered, as the driver reads them (for field-by-field comparison). */
interface Rows {
  owners: Record<string, unknown>[];
  things: Record<string, unknown>[];
}

/** A connection to a target that inserts pairs of rows (an owner and its thing) in one transaction. */
interface Conn {
  insertPair(i: number): Promise<void>;
  rows(): Promise<Rows>;
  close(): Promise<void>;
}

async function connect(t: DatabaseTarget): Promise<Conn> {
  if (t.kind === 'sqlite') {
    const db = new BetterSqlite3(t.file, { timeout: 30_000 });
    const owner = db.prepare('INSERT INTO "owners" VALUES (?, ?, ?, ?, ?, ?, ?)');
    const thing = db.prepare('INSERT INTO "things" ("owner_id", "body", "note") VALUES (?, ?, ?)');
    const pair = db.transaction((i: number) => {
      owner.run(`o${i}`, `owner ${i} ‘quoted’ "x"`, Date.UTC(2026, 0, 1) + i, i % 2, JSON.stringify({ i, tags: ['a', 'b'] }), i / 3, 2 ** 53 - i);
      thing.run(`o${i}`, Buffer.from([0, 1, 2, i % 256]), i % 5 === 0 ? null : `line\nbreak ${i}`);
    });
    return {
      insertPair: async (i) => {
        pair(i);
        await new Promise((r) => setImmediate(r));
      },
      rows: async () => ({
        owners: db.prepare('SELECT * FROM "owners" ORDER BY "id"').all() as Record<string, unknown>[],
        things: db.prepare('SELECT * FROM "things" ORDER BY "id"').all() as Record<string, unknown>[],
      }),
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: t.url, options: `-c search_path="${t.schema}"` });
  await client.connect();
  return {
    insertPair: async (i) => {
      await client.query('BEGIN');
      await client.query('INSERT INTO "owners" VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        `o${i}`,
        `owner ${i} ‘quoted’ "x"`,
        new Date(Date.UTC(2026, 0, 1) + i),
        i % 2 === 1,
        { i, tags: ['a', 'b'] },
        i / 3,
        String(2 ** 53 - i),
      ]);
      await client.query('INSERT INTO "things" ("owner_id", "body", "note") VALUES ($1, $2, $3)', [`o${i}`, Buffer.from([0, 1, 2, i % 256]), i % 5 === 0 ? null : `line\nbreak ${i}`]);
      await client.query('COMMIT');
    },
    rows: async () => ({
      owners: (await client.query('SELECT * FROM "owners" ORDER BY "id"')).rows,
      things: (await client.query('SELECT * FROM "things" ORDER BY "id"')).rows,
    }),
    close: () => client.end(),
  };
}

describe.each(TEST_DATABASE_KINDS)('database backups on %s', (kind) => {
  let db: TestDatabase;
  let source: DatabaseTarget;
  let work: string;
  const fresh = (name: string) => resolveTarget({ service: name, databaseUrl: kind === 'postgres' ? db.url : undefined, dataDir: path.join(work, `restore-${name}`) });

  beforeAll(async () => {
    db = await createTestDatabase(kind, 'backup');
    work = mkdtempSync(path.join(tmpdir(), 'codeagent-backup-'));
    source = resolveTarget({ service: 'svc', databaseUrl: kind === 'postgres' ? db.url : undefined, dataDir: db.dataDir });
    await applyMigrations(source, SCHEMA[kind]);
  });
  afterAll(async () => {
    await db.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test('a copy taken while a writer commits is one instant: whole pairs only, each row field for field as it was', async () => {
    const writer = await connect(source);
    for (let i = 0; i < 200; i++) await writer.insertPair(i);
    let stop = false;
    let written = 200;
    const writing = (async () => {
      while (!stop) await writer.insertPair(written++);
    })();
    const file = path.join(work, dumpFileName('svc', kind));
    const dumped = await dumpDatabase(source, file);
    stop = true;
    await writing;
    expect(written).toBeGreaterThan(200); // the writer really ran during the copy
    expect(dumped.owners).toBe(dumped.things);
    expect(dumped.owners).toBeGreaterThanOrEqual(200);

    const target = fresh('copy');
    const restored = await restoreDatabase(target, file, SCHEMA[kind]);
    expect(restored).toEqual(dumped);
    const back = await connect(target);
    const got = await back.rows();
    const all = await writer.rows();
    // The restored rows are exactly the first `n` pairs of the source, every field equal.
    expect(got.owners).toEqual(all.owners.filter((o) => got.owners.some((g) => g.id === o.id)));
    expect(got.things).toEqual(all.things.slice(0, got.things.length));
    expect(got.owners.length).toBe(dumped.owners);
    // A restored database goes on: new rows get new ids after the restored ones.
    await back.insertPair(1_000_000);
    const after = await back.rows();
    expect(Number(after.things.at(-1)!.id)).toBe(Number(got.things.at(-1)!.id) + 1);
    await back.close();
    await writer.close();
  });

  test('a restore refuses a target that holds data, and --force replaces it', async () => {
    const file = path.join(work, `again-${dumpFileName('svc', kind)}`);
    const dumped = await dumpDatabase(source, file);
    const target = fresh('copy');
    await expect(restoreDatabase(target, file, SCHEMA[kind])).rejects.toThrow(/exists|already holds data/);
    expect(await restoreDatabase(target, file, SCHEMA[kind], { replace: true })).toEqual(dumped);
  });

  test('a copy of the other kind of database is refused with a clear message', async () => {
    const other = kind === 'sqlite' ? 'svc.pgdump.gz' : 'svc.db';
    await expect(restoreDatabase(fresh('other'), path.join(work, other), SCHEMA[kind])).rejects.toThrow(/restore into the kind of database it was taken from/);
  });

  if (kind === 'postgres') {
    test('a dump taken by a newer version (a migration unknown here) is refused before anything is written', async () => {
      const file = path.join(work, 'newer.pgdump.gz');
      await dumpDatabase(source, file);
      await expect(restoreDatabase(fresh('newer'), file, [])).rejects.toThrow(/newer version/);
    });
  }

  test('daily snapshots: one file per period whatever the replicas, old periods pruned to `keep`', async () => {
    const dir = path.join(work, 'daily');
    const name = dumpFileName('svc', kind);
    // Three older periods with this service's file, one also holding another service's file.
    for (const stamp of ['2026-01-01T00-00-00Z', '2026-01-02T00-00-00Z', '2026-01-03T00-00-00Z']) {
      mkdirSync(path.join(dir, stamp), { recursive: true });
      writeFileSync(path.join(dir, stamp, name), 'old');
    }
    writeFileSync(path.join(dir, '2026-01-01T00-00-00Z', 'other.db'), 'not ours');
    const policy = { intervalMs: 86_400_000, keep: 2, dir };
    // Two replicas of the service race for the day's snapshot.
    const replicas = [0, 1].map(() => scheduleDatabaseSnapshots({ service: 'svc', target: source, policy }));
    const taken = (await Promise.all(replicas.map((r) => r.runOnce()))).filter(Boolean);
    await Promise.all(replicas.map((r) => r.stop()));
    expect(taken).toHaveLength(1);
    const periods = readdirSync(dir).sort();
    expect(periods).toHaveLength(3); // the other service's file keeps its period folder
    expect(readdirSync(path.join(dir, periods[0]!))).toEqual(['other.db']);
    expect(periods.slice(1)).toEqual(['2026-01-03T00-00-00Z', expect.stringMatching(/^\d{4}-\d\d-\d\dT00-00-00Z$/)]);
    const today = path.join(dir, periods[2]!);
    expect(readdirSync(today)).toEqual([name]); // no temporary file left behind
    expect(existsSync(path.join(dir, '2026-01-02T00-00-00Z'))).toBe(false);
    // The snapshot restores like a backup.
    const restored = await restoreDatabase(fresh('daily'), path.join(today, name), SCHEMA[kind]);
    expect(restored.owners).toBe(restored.things);
  });
});
