import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { TableCounts } from './pg-dump';

// A SQLite database is copied with VACUUM INTO: one read transaction, so the copy is the database as
// it was at one instant while the service goes on writing (WAL lets it), and it never restarts the way
// the page-by-page backup API does when another connection writes during the copy.

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Rows per table of a SQLite file, and its applied migrations. */
export function inspectSqlite(file: string): { counts: TableCounts; migrations: string[] } {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    const counts: TableCounts = {};
    for (const t of tables) if (t !== '_migrations') counts[t] = (db.prepare(`SELECT COUNT(*) AS n FROM "${t.replace(/"/g, '""')}"`).get() as { n: number }).n;
    const migrations = tables.includes('_migrations') ? (db.prepare('SELECT name FROM "_migrations" ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name) : [];
    return { counts, migrations };
  } finally {
    db.close();
  }
}

/** Copies a live SQLite database to `file` (written as `<file>.partial`, renamed when complete). */
export async function copySqlite(source: string, file: string): Promise<TableCounts> {
  await stat(source).catch(() => {
    throw new Error(`${source} does not exist: nothing to back up (has the service ever started with this DATA_DIR?)`);
  });
  const partial = `${file}.partial`;
  await rm(partial, { force: true });
  await mkdir(path.dirname(file), { recursive: true });
  const db = new BetterSqlite3(source, { fileMustExist: true, timeout: 30_000 });
  try {
    db.exec(`VACUUM INTO ${quote(partial)}`);
  } finally {
    db.close();
  }
  const { counts } = inspectSqlite(partial);
  await rename(partial, file);
  return counts;
}

/**
 * Puts a copied database in place of `target`. A target that exists is refused unless `replace`, which
 * moves it (and its WAL) aside as `<target>.before-restore-<time>` rather than deleting it.
 */
export async function restoreSqlite(file: string, target: string, opts: { replace?: boolean } = {}): Promise<TableCounts> {
  const { counts } = inspectSqlite(file);
  const existing = await stat(target).then(
    () => true,
    () => false,
  );
  if (existing && !opts.replace) throw new Error(`${target} exists: restore into a fresh data folder, or pass --force to replace it (the old file is kept beside it)`);
  await mkdir(path.dirname(target), { recursive: true });
  if (existing) {
    const aside = `${target}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(target, aside);
    for (const suffix of ['-wal', '-shm']) await rename(target + suffix, aside + suffix).catch(() => undefined);
  }
  const partial = `${target}.restoring`;
  await copyFile(file, partial);
  await rename(partial, target);
  return counts;
}
