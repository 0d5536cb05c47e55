import path from 'node:path';

/** Where one service's data lives: a SQLite file of its own, or its own schema in PostgreSQL. */
export type DatabaseTarget =
  | { kind: 'sqlite'; /** Absolute path of the database file. */ file: string }
  | {
      kind: 'postgres';
      /** The connection string without the `schema` parameter (the pg driver does not know it). */
      url: string;
      /** The service's own schema: its tables never share a namespace with another service's. */
      schema: string;
    };

/** A PostgreSQL schema name from a service name: `project-ci` → `project_ci`. */
export function schemaNameFor(service: string): string {
  const name = service.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`cannot derive a schema name from "${service}"`);
  return name;
}

/**
 * Picks the database from DATABASE_URL:
 * - unset or empty: SQLite at `<dataDir>/<service>.db` (no server needed);
 * - `file:<path>`: SQLite at that path (relative to the working directory); give each service its own;
 * - `postgres://` or `postgresql://`: PostgreSQL, in the schema named by `?schema=` if given, else in
 *   a schema named after the service, so services sharing one DATABASE_URL never share tables.
 */
export function resolveTarget(opts: { service: string; databaseUrl?: string; dataDir: string }): DatabaseTarget {
  const raw = opts.databaseUrl?.trim();
  if (!raw) return { kind: 'sqlite', file: path.resolve(opts.dataDir, `${opts.service}.db`) };
  if (raw.startsWith('file:')) {
    const file = raw.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new Error('DATABASE_URL "file:" names no file');
    return { kind: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    const url = new URL(raw);
    const given = url.searchParams.get('schema');
    url.searchParams.delete('schema');
    const schema = given ? schemaNameFor(given) : schemaNameFor(opts.service);
    return { kind: 'postgres', url: url.toString(), schema };
  }
  throw new Error(`DATABASE_URL must start with file:, postgres:// or postgresql:// (got "${raw.replace(/\/\/[^@/]*@/, '//***@')}")`);
}

/** The target as a string for logs, without credentials. */
export function describeTarget(t: DatabaseTarget): string {
  if (t.kind === 'sqlite') return `sqlite:${t.file}`;
  const u = new URL(t.url);
  u.password = '';
  u.username = u.username ? u.username : '';
  return `postgres:${u.host}${u.pathname}#${t.schema}`;
}
