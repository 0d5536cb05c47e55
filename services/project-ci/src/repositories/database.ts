import path from 'node:path';
import { openDatabase, withQuerySpans, type Database, type DatabaseSnapshotPolicy } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/** project-ci's Prisma client, typed as the SQLite variant's (the PostgreSQL one has the same models). */
export type Db = PrismaClient;
export type ProjectCiDatabase = Database<Db>;

export const PRISMA_DIR = path.resolve(__dirname, '../../prisma');

/** Opens project-ci's database (SQLite `$DATA_DIR/project-ci.db`, or PostgreSQL schema `project_ci`), migrated. */
export async function openProjectCiDatabase(opts: { databaseUrl?: string; dataDir: string; log?: Logger; snapshots?: DatabaseSnapshotPolicy }): Promise<ProjectCiDatabase> {
  const db = await openDatabase<Db>({
    service: 'project-ci',
    prismaDir: PRISMA_DIR,
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    snapshots: opts.snapshots && { ...opts.snapshots, log: opts.log },
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: one kind per deployment
    clients: { sqlite: () => require('../../prisma/generated/sqlite').PrismaClient, postgres: () => require('../../prisma/generated/postgres').PrismaClient },
    onMigrated: ({ target, applied, unknown }) =>
      opts.log?.info({ target, applied, unknown }, applied.length ? 'database migrated' : 'database up to date'),
  });
  // Queries made in a trace (a bus message being handled, such as project-ci.chat) are its spans (libs/db tracing.ts).
  return { ...db, client: withQuerySpans(db.client, db.target.kind === 'sqlite' ? 'sqlite' : 'postgresql') };
}
