import path from 'node:path';
import { openServiceDatabase, type Database, type ServiceDatabaseOptions } from '@codeagent/db';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/** The orchestrator's Prisma client, typed as the SQLite variant's (the PostgreSQL one has the same models). */
export type Db = PrismaClient;
export type OrchestratorDatabase = Database<Db>;

/** Where the orchestrator's checked-in migrations and generated clients live. */
export const PRISMA_DIR = path.resolve(__dirname, '../../prisma');

/** Opens the orchestrator's database (SQLite under DATA_DIR, or PostgreSQL schema "orchestrator"), migrated. */
export const openOrchestratorDatabase = (opts: ServiceDatabaseOptions): Promise<OrchestratorDatabase> => openServiceDatabase<Db>('orchestrator', PRISMA_DIR, opts);
