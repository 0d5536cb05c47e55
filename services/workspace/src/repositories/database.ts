import path from 'node:path';
import { openDatabase, withQuerySpans, type Database, type DatabaseSnapshotPolicy } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { PrismaClient } from '../../prisma/generated/sqlite';

export type Db = PrismaClient;

/**
 * The workspace database: SQLite at DATA_DIR/workspace.db by default, PostgreSQL (schema `workspace`)
 * when DATABASE_URL says so; migrations applied before it is returned.
 */
export async function openWorkspaceDatabase(opts: { databaseUrl?: string; dataDir: string; log?: Logger; snapshots?: DatabaseSnapshotPolicy }): Promise<Database<Db>> {
  const db = await openDatabase<Db>({
    service: 'workspace',
    prismaDir: path.resolve(__dirname, '../../prisma'),
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    snapshots: opts.snapshots && { ...opts.snapshots, log: opts.log },
    clients: {
      sqlite: () => (require('../../prisma/generated/sqlite') as typeof import('../../prisma/generated/sqlite')).PrismaClient,
      postgres: () => (require('../../prisma/generated/postgres') as { PrismaClient: never }).PrismaClient,
    },
    onMigrated: (info) => opts.log?.info({ target: info.target, applied: info.applied }, 'database ready'),
  });
  // Queries made in a trace are its spans (libs/db tracing.ts).
  return { ...db, client: withQuerySpans(db.client, db.target.kind === 'sqlite' ? 'sqlite' : 'postgresql') };
}
