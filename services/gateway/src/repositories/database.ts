import path from 'node:path';
import { openServiceDatabase, type Database, type ServiceDatabaseOptions } from '@codeagent/db';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/** The gateway's Prisma client, typed as the SQLite variant's (the PostgreSQL one has the same models). */
export type Db = PrismaClient;
export type GatewayDatabase = Database<Db>;

/** Opens the gateway's database (SQLite under DATA_DIR, or PostgreSQL schema "gateway"), migrated. */
export const openGatewayDatabase = (opts: ServiceDatabaseOptions): Promise<GatewayDatabase> => openServiceDatabase<Db>('gateway', path.resolve(__dirname, '../../prisma'), opts);
