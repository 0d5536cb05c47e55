import path from 'node:path';
import { openServiceDatabase, withRawQuerySpans, type Database, type ServiceDatabaseOptions } from '@codeagent/db';
import type { PrismaClient } from '../../prisma/generated/sqlite';
import type { SqlClient } from './sql';

export const PRISMA_DIR = path.resolve(__dirname, '../../prisma');

/**
 * The analytics database (SQLite under DATA_DIR, or PostgreSQL schema "analytics"), migrated. Its
 * repositories use raw SQL (`sql`); queries made in a trace (the reports a request asks for) are its
 * spans through a Proxy rather than Prisma's client extension, which broke the ingest (commit 01e1fee).
 */
export async function openAnalyticsDatabase(opts: ServiceDatabaseOptions): Promise<Database<PrismaClient> & { sql: SqlClient }> {
  const db = await openServiceDatabase<PrismaClient>('analytics', PRISMA_DIR, { ...opts, querySpans: false });
  return { ...db, sql: withRawQuerySpans(db.client as unknown as SqlClient, db.target.kind === 'sqlite' ? 'sqlite' : 'postgresql') };
}
