import path from 'node:path';
import { openDatabase, withQuerySpans, type Database, type DatabaseSnapshotPolicy } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/**
 * The orchestrator's Prisma client. Typed as the SQLite variant's client: the PostgreSQL one has the
 * same models and a superset of the API, so code written against this type runs on both.
 */
export type Db = PrismaClient;
export type OrchestratorDatabase = Database<Db>;

/** Where the orchestrator's checked-in migrations and generated clients live. */
export const PRISMA_DIR = path.resolve(__dirname, '../../prisma');

/** Opens the orchestrator's database (SQLite under DATA_DIR, or PostgreSQL schema "orchestrator"), migrated. */
export async function openOrchestratorDatabase(opts: { databaseUrl?: string; dataDir: string; log?: Logger; snapshots?: DatabaseSnapshotPolicy }): Promise<OrchestratorDatabase> {
  const db = await openDatabase<Db>({
    service: 'orchestrator',
    prismaDir: PRISMA_DIR,
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    snapshots: opts.snapshots && { ...opts.snapshots, log: opts.log },
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: one kind per deployment
    clients: { sqlite: () => require('../../prisma/generated/sqlite').PrismaClient, postgres: () => require('../../prisma/generated/postgres').PrismaClient },
    onMigrated: ({ target, applied, unknown }) =>
      opts.log?.info({ target, applied, unknown }, applied.length ? 'database migrated' : 'database up to date'),
  });
  // Queries made in a trace are its spans (libs/db tracing.ts).
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
