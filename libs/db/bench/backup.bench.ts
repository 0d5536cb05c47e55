// Backup and restore of one service's database (libs/db backup, issue 23): a table of 200,000 rows
// shaped like session events (~250 bytes each), copied with dumpDatabase and restored into a fresh
// target, on SQLite and on the local PostgreSQL. `npm run bench -- backup`.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase } from '@codeagent/testing';
import { report, msSince, type Figure } from '../../../bench/lib';
import { applyMigrations, dumpDatabase, resolveTarget, restoreDatabase, type Migration } from '../src';

const ROWS = 200_000;
const DATA = JSON.stringify({ kind: 'output', stream: 'stdout', text: 'x'.repeat(180) });
const migration = (kind: 'sqlite' | 'postgres'): Migration[] => {
  const sql =
    kind === 'sqlite'
      ? 'CREATE TABLE "events" ("id" INTEGER PRIMARY KEY, "session" TEXT NOT NULL, "seq" INTEGER NOT NULL, "at" DATETIME NOT NULL, "data" TEXT NOT NULL);'
      : 'CREATE TABLE "events" ("id" BIGSERIAL PRIMARY KEY, "session" TEXT NOT NULL, "seq" INTEGER NOT NULL, "at" TIMESTAMPTZ NOT NULL, "data" JSONB NOT NULL);';
  return [{ name: '20260101000000_init', sql, checksum: createHash('sha256').update(sql).digest('hex') }];
};

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'backup-bench-'));
  try {
    const lite = resolveTarget({ service: 'bench', dataDir: dir });
    await applyMigrations(lite, migration('sqlite'));
    const db = new BetterSqlite3(lite.kind === 'sqlite' ? lite.file : '');
    const insert = db.prepare('INSERT INTO events (session, seq, at, data) VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < ROWS; i++) insert.run(`s${i % 100}`, i, Date.now(), DATA);
    })();
    db.close();
    let t = process.hrtime.bigint();
    await dumpDatabase(lite, path.join(dir, 'copy', 'bench.db'));
    figures.push({ name: `SQLite backup, ${ROWS} rows (${Math.round(statSync(path.join(dir, 'copy', 'bench.db')).size / 1e6)} MB)`, value: msSince(t), unit: 'ms', goal: '<= 5000' });
    t = process.hrtime.bigint();
    await restoreDatabase(resolveTarget({ service: 'bench', dataDir: path.join(dir, 'restored') }), path.join(dir, 'copy', 'bench.db'), migration('sqlite'));
    figures.push({ name: `SQLite restore, ${ROWS} rows`, value: msSince(t), unit: 'ms', goal: '<= 5000' });

    const pgdb = await createTestDatabase('postgres', 'backup-bench');
    try {
      const source = resolveTarget({ service: 'bench', databaseUrl: pgdb.url, dataDir: dir });
      await applyMigrations(source, migration('postgres'));
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      await c.query(`INSERT INTO bench.events (session, seq, at, data) SELECT 's' || (g % 100), g, now(), $1::jsonb FROM generate_series(1, ${ROWS}) g`, [DATA]);
      await c.end();
      const file = path.join(dir, 'bench.pgdump.gz');
      t = process.hrtime.bigint();
      await dumpDatabase(source, file);
      figures.push({ name: `PostgreSQL backup, ${ROWS} rows`, value: msSince(t), unit: 'ms', goal: '<= 10000' });
      figures.push({ name: 'PostgreSQL dump size (gzipped)', value: statSync(file).size / 1e6, unit: 'MB' });
      t = process.hrtime.bigint();
      await restoreDatabase(resolveTarget({ service: 'restored', databaseUrl: pgdb.url, dataDir: dir }), file, migration('postgres'));
      figures.push({ name: `PostgreSQL restore, ${ROWS} rows`, value: msSince(t), unit: 'ms', goal: '<= 20000' });
    } finally {
      await pgdb.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report('db-backup', figures, 'One table of session-event-like rows; the copy is consistent while writers go on (libs/db/test/backup.int.test.ts).');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
