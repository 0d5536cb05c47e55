import path from 'node:path';
import { openDatabase, type Database } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { PrismaClient } from '../../prisma/generated/sqlite';

export type Db = PrismaClient;

/**
 * The workspace database: SQLite at DATA_DIR/workspace.db by default, PostgreSQL (schema `workspace`)
 * when DATABASE_URL says so; migrations applied before it is returned.
 */
export function openWorkspaceDatabase(opts: { databaseUrl?: string; dataDir: string; log?: Logger }): Promise<Database<Db>> {
  return openDatabase<Db>({
    service: 'workspace',
    prismaDir: path.resolve(__dirname, '../../prisma'),
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir,
    clients: {
      sqlite: () => (require('../../prisma/generated/sqlite') as typeof import('../../prisma/generated/sqlite')).PrismaClient,
      postgres: () => (require('../../prisma/generated/postgres') as { PrismaClient: never }).PrismaClient,
    },
    onMigrated: (info) => opts.log?.info({ target: info.target, applied: info.applied }, 'database ready'),
  });
}
