import path from 'node:path';
import { openServiceDatabase, type Database, type ServiceDatabaseOptions } from '@codeagent/db';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/** The workspace service's Prisma client, typed as the SQLite variant's (the PostgreSQL one has the same models). */
export type Db = PrismaClient;

/** Opens the workspace database (SQLite under DATA_DIR, or PostgreSQL schema "workspace"), migrated. */
export const openWorkspaceDatabase = (opts: ServiceDatabaseOptions): Promise<Database<Db>> => openServiceDatabase<Db>('workspace', path.resolve(__dirname, '../../prisma'), opts);
