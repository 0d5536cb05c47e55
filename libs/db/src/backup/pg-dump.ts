import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import readline from 'node:readline';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import pg from 'pg';
import type { Migration } from '../migrations';
import { migratePostgres } from '../migrator';

// A service's PostgreSQL schema as gzipped JSON lines, read over the service's own connection string
// rather than by pg_dump: no client binary whose major version must match the server's, and the same
// code runs in the CLI and in the services' daily snapshots. Line 1 is the header; then, per table,
// `{"table", "columns"}` followed by one array per row. Every value travels as PostgreSQL's own text
// form (the driver's type parsers are bypassed), so a restore hands it back to the server unchanged
// (timestamps, json, bytea, bigint alike). The schema itself comes from the checked-in migrations.

export const PG_DUMP_FORMAT = 'codeagent-pg-dump/1';

export interface PgDumpHeader {
  format: typeof PG_DUMP_FORMAT;
  schema: string;
  takenAt: string;
  /** The migrations applied to the schema when it was dumped, in order. */
  migrations: string[];
}

/** Rows per table, as dumped or restored. */
export type TableCounts = Record<string, number>;

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
/** Every value as the server's text: what a restore inserts back. */
const AS_TEXT = { getTypeParser: () => (value: string) => value };
const PAGE = 5000;
const MIGRATIONS_TABLE = '_migrations';

/** The schema's tables, parents before the tables whose foreign keys point at them. */
async function tablesInDependencyOrder(client: pg.Client, schema: string): Promise<string[]> {
  const tables = (await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema])).rows.map((r) => r.name);
  const edges = (
    await client.query<{ child: string; parent: string }>(
      `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
         JOIN pg_namespace n ON n.oid = k.connamespace
        WHERE k.contype = 'f' AND n.nspname = $1 AND c.oid <> p.oid`,
      [schema],
    )
  ).rows;
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (t: string) => {
    if (ordered.includes(t) || visiting.has(t)) return;
    visiting.add(t);
    for (const e of edges) if (e.child === t) visit(e.parent);
    ordered.push(t);
  };
  tables.forEach(visit);
  return ordered;
}

async function columnsOf(client: pg.Client, schema: string, table: string): Promise<string[]> {
  const rows = await client.query<{ name: string }>(
    'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    [schema, table],
  );
  return rows.rows.map((r) => r.name);
}

/**
 * Dumps one schema in a single REPEATABLE READ transaction: one consistent picture of the schema
 * while the service goes on writing. Written to `<file>.partial`, renamed when complete.
 */
export async function dumpPostgres(url: string, schema: string, file: string): Promise<TableCounts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const partial = `${file}.partial`;
  const gzip = createGzip();
  const out = createWriteStream(partial, { mode: 0o600 });
  gzip.pipe(out);
  const writeText = async (text: string) => {
    if (!gzip.write(text)) await once(gzip, 'drain');
  };
  const write = (value: unknown) => writeText(JSON.stringify(value) + '\n');
  const counts: TableCounts = {};
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = await tablesInDependencyOrder(client, schema);
    if (tables.length === 0) throw new Error(`schema "${schema}" has no tables: nothing to back up (has the service ever started on this database?)`);
    const migrations = tables.includes(MIGRATIONS_TABLE)
      ? (await client.query<{ name: string }>(`SELECT name FROM ${q(schema)}.${q(MIGRATIONS_TABLE)} ORDER BY name`)).rows.map((r) => r.name)
      : [];
    const header: PgDumpHeader = { format: PG_DUMP_FORMAT, schema, takenAt: new Date().toISOString(), migrations };
    await write(header);
    for (const table of tables) {
      if (table === MIGRATIONS_TABLE) continue;
      const columns = await columnsOf(client, schema, table);
      await write({ table, columns });
      counts[table] = 0;
      await client.query(`DECLARE dump NO SCROLL CURSOR FOR SELECT ${columns.map(q).join(', ')} FROM ${q(schema)}.${q(table)}`);
      for (;;) {
        const page = await client.query({ text: `FETCH ${PAGE} FROM dump`, rowMode: 'array', types: AS_TEXT });
        if (page.rows.length) await writeText(page.rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
        counts[table] += page.rows.length;
        if (page.rows.length < PAGE) break;
      }
      await client.query('CLOSE dump');
    }
    await client.query('COMMIT');
    gzip.end();
    await finished(out);
    await rename(partial, file);
    return counts;
  } catch (err) {
    gzip.destroy();
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Reads a dump's header without reading the rest. */
export async function readPgDumpHeader(file: string): Promise<PgDumpHeader> {
  for await (const line of dumpLines(file)) return parseHeader(line, file);
  throw new Error(`${file} is empty`);
}

function parseHeader(line: string, file: string): PgDumpHeader {
  const header = JSON.parse(line) as PgDumpHeader;
  if (header.format !== PG_DUMP_FORMAT) throw new Error(`${file} is not a codeagent PostgreSQL dump (format ${String(header.format)})`);
  return header;
}

function dumpLines(file: string): AsyncIterable<string> {
  return readline.createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
}

/** Whether any table of the schema (other than the migrations' own) holds a row. */
async function holdsData(client: pg.Client, schema: string): Promise<string | undefined> {
  const tables = (await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1', [schema])).rows.map((r) => r.name);
  for (const t of tables) {
    if (t === MIGRATIONS_TABLE) continue;
    const r = await client.query(`SELECT 1 FROM ${q(schema)}.${q(t)} LIMIT 1`);
    if (r.rowCount) return t;
  }
  return undefined;
}

/**
 * Restores a dump into the schema of `url`: the schema is created by the service's migrations (those of
 * the dump must all be known to this code: a dump from a newer version is refused), then every row is
 * inserted in one transaction, and serial counters are moved past the restored ids. A schema that
 * already holds data is refused unless `replace`, which drops it first.
 */
export async function restorePostgres(url: string, schema: string, file: string, migrations: Migration[], opts: { replace?: boolean } = {}): Promise<TableCounts> {
  const header = await readPgDumpHeader(file);
  const known = new Set(migrations.map((m) => m.name));
  const unknown = header.migrations.filter((m) => !known.has(m));
  if (unknown.length) throw new Error(`${file} was taken by a newer version (migrations ${unknown.join(', ')} are unknown here): restore it with that version's code`);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const occupied = await holdsData(client, schema);
    if (occupied && !opts.replace) throw new Error(`schema "${schema}" already holds data (table ${occupied}): restore into an empty database, or pass --force to replace it`);
    if (occupied) await client.query(`DROP SCHEMA ${q(schema)} CASCADE`);
    await migratePostgres(url, schema, migrations);

    const counts: TableCounts = {};
    await client.query('BEGIN');
    let table = '';
    let columns: string[] = [];
    let batch: unknown[][] = [];
    const flush = async () => {
      if (!batch.length) return;
      const width = columns.length;
      const values = batch.map((_, r) => `(${columns.map((__, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ');
      await client.query(`INSERT INTO ${q(schema)}.${q(table)} (${columns.map(q).join(', ')}) VALUES ${values}`, batch.flat());
      counts[table] = (counts[table] ?? 0) + batch.length;
      batch = [];
    };
    let first = true;
    for await (const line of dumpLines(file)) {
      if (first) {
        first = false;
        continue;
      }
      const value = JSON.parse(line) as unknown;
      if (Array.isArray(value)) {
        batch.push(value);
        // PostgreSQL takes at most 65535 parameters per statement.
        if ((batch.length + 1) * columns.length > 60_000) await flush();
        continue;
      }
      await flush();
      ({ table, columns } = value as { table: string; columns: string[] });
      counts[table] = 0;
    }
    await flush();
    // Serial columns (ids the database hands out) continue after the restored ones.
    const serials = await client.query<{ table: string; column: string }>(
      `SELECT table_name AS table, column_name AS column FROM information_schema.columns WHERE table_schema = $1 AND column_default LIKE 'nextval(%'`,
      [schema],
    );
    for (const s of serials.rows) {
      await client.query(
        `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(${q(s.column)}) FROM ${q(schema)}.${q(s.table)}), 0) + 1, false)`,
        [`${q(schema)}.${q(s.table)}`, s.column],
      );
    }
    await client.query('COMMIT');
    return counts;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}
