import path from 'node:path';
import type { DatabaseSnapshotPolicy } from './backup';
import { openDatabase, type ClientConstructor, type Database, type PrismaLike } from './open';
import { withQuerySpans } from './tracing';

/** What a service's start gives to open its database: DATABASE_URL, DATA_DIR and its settings. */
export interface ServiceDatabaseOptions {
  /** DATABASE_URL; unset means SQLite at `<dataDir>/<service>.db`. */
  databaseUrl?: string;
  dataDir: string;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  snapshots?: DatabaseSnapshotPolicy;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
  /**
   * Every query made in a trace is a span of it (Prisma's client extension, withQuerySpans); off for a
   * service that wraps its raw queries itself (analytics: the extension broke its ingest, 01e1fee).
   */
  querySpans?: boolean;
}

/**
 * Opens a service's own database, migrated: SQLite under DATA_DIR or its schema in PostgreSQL. The
 * service's `prisma/` folder holds the migrations of both kinds and the two generated clients
 * (`generated/sqlite`, `generated/postgres`); only the one the deployment uses is loaded. `C` is the
 * SQLite client's type, which code written for both programs against (the PostgreSQL client has the
 * same models and a superset of the API).
 */
export async function openServiceDatabase<C extends PrismaLike>(service: string, prismaDir: string, opts: ServiceDatabaseOptions): Promise<Database<C>> {
  const client = (kind: 'sqlite' | 'postgres') => (require(path.join(prismaDir, 'generated', kind)) as { PrismaClient: ClientConstructor }).PrismaClient;
  const db = await openDatabase<C>({
    service,
    prismaDir,
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    poolSize: opts.poolSize,
    snapshots: opts.snapshots && { ...opts.snapshots, log: opts.log },
    clients: { sqlite: () => client('sqlite') as never, postgres: () => client('postgres') },
    onMigrated: ({ target, applied, unknown }) => opts.log?.info({ target, applied, unknown }, applied.length ? 'database migrated' : 'database up to date'),
  });
  if (opts.querySpans === false) return db;
  return { ...db, client: withQuerySpans(db.client, db.target.kind === 'sqlite' ? 'sqlite' : 'postgresql') };
}

/** Prisma's unique-constraint violation (P2002), whatever the driver adapter. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}

/** Prisma's "record to update/delete does not exist" (P2025). */
export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2025';
}
