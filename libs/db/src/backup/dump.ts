import type { Migration } from '../migrations';
import type { DatabaseTarget } from '../target';
import { dumpPostgres, restorePostgres, type TableCounts } from './pg-dump';
import { copySqlite, restoreSqlite } from './sqlite-copy';

export type { TableCounts };

/** The file a service's database is copied to: `<service>.db` (SQLite) or `<service>.pgdump.gz` (PostgreSQL). */
export function dumpFileName(service: string, kind: DatabaseTarget['kind']): string {
  return kind === 'sqlite' ? `${service}.db` : `${service}.pgdump.gz`;
}

/** A consistent copy of a running service's database in `file`; returns the rows per table. */
export function dumpDatabase(target: DatabaseTarget, file: string): Promise<TableCounts> {
  return target.kind === 'sqlite' ? copySqlite(target.file, file) : dumpPostgres(target.url, target.schema, file);
}

/**
 * Restores a copy made by dumpDatabase into `target`, of the same kind (a SQLite copy into SQLite, a
 * PostgreSQL dump into PostgreSQL). `migrations` are the service's for the target's kind (PostgreSQL
 * builds the schema from them). Refuses a target holding data unless `replace`.
 */
export async function restoreDatabase(target: DatabaseTarget, file: string, migrations: Migration[], opts: { replace?: boolean } = {}): Promise<TableCounts> {
  const kind = file.endsWith('.pgdump.gz') ? 'postgres' : 'sqlite';
  if (kind !== target.kind) throw new Error(`${file} is a ${kind} copy; DATABASE_URL points at ${target.kind}: restore into the kind of database it was taken from`);
  return target.kind === 'sqlite' ? restoreSqlite(file, target.file, opts) : restorePostgres(target.url, target.schema, file, migrations, opts);
}
