import path from 'node:path';
import { openDatabase, withRawQuerySpans, type Database, type DatabaseSnapshotPolicy } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { PrismaClient } from '../../prisma/generated/sqlite';
import type { SqlClient } from './sql';

export const PRISMA_DIR = path.resolve(__dirname, '../../prisma');

/**
 * The analytics database: SQLite at DATA_DIR/analytics.db by default, PostgreSQL (schema
 * `analytics`, or `?schema=`) when DATABASE_URL says so; migrations applied before it is returned.
 */
export async function openAnalyticsDatabase(opts: { databaseUrl?: string; dataDir: string; log?: Logger; poolSize?: number; snapshots?: DatabaseSnapshotPolicy }): Promise<Database<PrismaClient> & { sql: SqlClient }> {
  const db = await openDatabase<PrismaClient>({
    service: 'analytics',
    prismaDir: PRISMA_DIR,
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    snapshots: opts.snapshots && { ...opts.snapshots, log: opts.log },
    poolSize: opts.poolSize,
    clients: {
      sqlite: () => (require('../../prisma/generated/sqlite') as typeof import('../../prisma/generated/sqlite')).PrismaClient,
      postgres: () => (require('../../prisma/generated/postgres') as { PrismaClient: never }).PrismaClient,
    },
    onMigrated: (info) => opts.log?.info({ target: info.target, applied: info.applied }, 'database ready'),
  });
  // Raw queries made in a trace (the reports a request asks for) are its spans; a Proxy rather than
  // withQuerySpans' client extension, which broke the ingest (commit 01e1fee).
  return { ...db, sql: withRawQuerySpans(db.client as unknown as SqlClient, db.target.kind === 'sqlite' ? 'sqlite' : 'postgresql') };
}
