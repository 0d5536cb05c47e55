import path from 'node:path';
import { openDatabase, withQuerySpans, type Database, type DatabaseSnapshotPolicy } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/** The gateway's Prisma client, typed as the SQLite variant's (the PostgreSQL one has the same models). */
export type Db = PrismaClient;
export type GatewayDatabase = Database<Db>;

/** Opens the gateway's database (SQLite under DATA_DIR, or PostgreSQL schema "gateway"), migrated. */
export async function openGatewayDatabase(opts: { databaseUrl?: string; dataDir: string; log?: Logger; snapshots?: DatabaseSnapshotPolicy }): Promise<GatewayDatabase> {
  const db = await openDatabase<Db>({
    service: 'gateway',
    prismaDir: path.resolve(__dirname, '../../prisma'),
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    snapshots: opts.snapshots && { ...opts.snapshots, log: opts.log },
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: one kind per deployment
    clients: { sqlite: () => require('../../prisma/generated/sqlite').PrismaClient, postgres: () => require('../../prisma/generated/postgres').PrismaClient },
    onMigrated: ({ target, applied, unknown }) => opts.log?.info({ target, applied, unknown }, applied.length ? 'database migrated' : 'database up to date'),
  });
  // Queries made in a trace are its spans (libs/db tracing.ts).
  return { ...db, client: withQuerySpans(db.client, db.target.kind === 'sqlite' ? 'sqlite' : 'postgresql') };
}

/** Prisma's unique-constraint violation (P2002), whatever the driver adapter. */
export const isUniqueViolation = (err: unknown) => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
