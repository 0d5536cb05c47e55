import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One checked-in migration: `<prismaDir>/<kind>/migrations/<name>/migration.sql`. */
export interface Migration {
  /** Folder name, `<UTC timestamp>_<what>`; migrations apply in name order. */
  name: string;
  sql: string;
  /** sha256 of the SQL: an applied migration whose file changed afterwards is refused. */
  checksum: string;
}

export type DatabaseKind = 'sqlite' | 'postgres';

export function migrationsDir(prismaDir: string, kind: DatabaseKind): string {
  return path.join(prismaDir, kind, 'migrations');
}

/** Reads a service's migrations for one database kind, in the order they apply. */
export function readMigrations(prismaDir: string, kind: DatabaseKind): Migration[] {
  const dir = migrationsDir(prismaDir, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}
