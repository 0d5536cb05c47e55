import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { applyMigrations, MigrationError } from '../src/migrator';
import { readMigrations, type Migration } from '../src/migrations';
import { resolveTarget, type DatabaseTarget } from '../src/target';

const m = (name: string, sql: string): Migration => ({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
const first = m('20260101000000_init', 'CREATE TABLE "things" ("id" TEXT PRIMARY KEY, "n" INTEGER NOT NULL);\nCREATE INDEX "things_n" ON "things"("n");\n');
const second = m('20260102000000_more', 'ALTER TABLE "things" ADD COLUMN "label" TEXT;\n');

async function tables(t: DatabaseTarget): Promise<string[]> {
  if (t.kind === 'sqlite') {
    const db = new BetterSqlite3(t.file);
    try {
      return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  try {
    return (await c.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [t.schema])).rows.map((r) => r.table_name);
  } finally {
    await c.end();
  }
}

describe.each(TEST_DATABASE_KINDS)('migrator on %s', (kind) => {
  let db: TestDatabase;
  let target: DatabaseTarget;
  beforeAll(async () => {
    db = await createTestDatabase(kind, 'migrator');
    target = resolveTarget({ service: 'svc-a', databaseUrl: kind === 'postgres' ? db.url : undefined, dataDir: db.dataDir });
  });
  afterAll(() => db.dispose());

  test('applies pending migrations once, in order, and records them', async () => {
    expect(await applyMigrations(target, [first])).toEqual({ applied: [first.name], unknown: [] });
    expect(await applyMigrations(target, [first, second])).toEqual({ applied: [second.name], unknown: [] });
    expect(await applyMigrations(target, [first, second])).toEqual({ applied: [], unknown: [] });
    expect(await tables(target)).toEqual(['_migrations', 'things']);
  });

  test('an edited migration that was already applied is refused', async () => {
    const edited = { ...second, sql: second.sql + '-- edited\n', checksum: 'x'.repeat(64) };
    await expect(applyMigrations(target, [first, edited])).rejects.toThrow(MigrationError);
  });

  test('a migration recorded by a newer replica is reported, not fatal', async () => {
    expect(await applyMigrations(target, [first])).toEqual({ applied: [], unknown: [second.name] });
  });

  test('a failing migration leaves nothing half-applied', async () => {
    const bad = m('20260103000000_bad', 'CREATE TABLE "half" ("id" TEXT);\nTHIS IS NOT SQL;\n');
    await expect(applyMigrations(target, [first, second, bad])).rejects.toThrow(/20260103000000_bad failed/);
    expect(await tables(target)).toEqual(['_migrations', 'things']);
  });

  test('two services in one database never share tables', async () => {
    const other = resolveTarget({ service: 'svc-b', databaseUrl: kind === 'postgres' ? db.url : undefined, dataDir: db.dataDir });
    expect(other).not.toEqual(target);
    await applyMigrations(other, [first]);
    expect(await tables(other)).toEqual(['_migrations', 'things']);
    expect(await tables(target)).toEqual(['_migrations', 'things']);
  });

  test('concurrent starts apply each migration exactly once', async () => {
    const t = resolveTarget({ service: 'svc-race', databaseUrl: kind === 'postgres' ? db.url : undefined, dataDir: db.dataDir });
    const results = await Promise.all([1, 2, 3].map(() => applyMigrations(t, [first, second])));
    expect(results.flatMap((r) => r.applied).sort()).toEqual([first.name, second.name]);
  });
});

test('readMigrations reads folders in name order and ignores everything else', () => {
  const dir = path.join(require('node:os').tmpdir(), `codeagent-migrations-${process.pid}`);
  try {
    for (const [name, sql] of [['20260102_b', 'B'], ['20260101_a', 'A']]) {
      mkdirSync(path.join(dir, 'sqlite', 'migrations', name!), { recursive: true });
      writeFileSync(path.join(dir, 'sqlite', 'migrations', name!, 'migration.sql'), sql!);
    }
    writeFileSync(path.join(dir, 'sqlite', 'migrations', 'schema.at-last-migration.prisma'), '');
    expect(readMigrations(dir, 'sqlite').map((x) => [x.name, x.sql])).toEqual([['20260101_a', 'A'], ['20260102_b', 'B']]);
    expect(readMigrations(dir, 'postgres')).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
