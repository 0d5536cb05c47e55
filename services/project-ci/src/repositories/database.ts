import path from 'node:path';
import { openServiceDatabase, type Database, type ServiceDatabaseOptions } from '@codeagent/db';
import type { PrismaClient } from '../../prisma/generated/sqlite';

/** project-ci's Prisma client, typed as the SQLite variant's (the PostgreSQL one has the same models). */
export type Db = PrismaClient;
export type ProjectCiDatabase = Database<Db>;

export const PRISMA_DIR = path.resolve(__dirname, '../../prisma');

/** Opens project-ci's database (SQLite `$DATA_DIR/project-ci.db`, or PostgreSQL schema `project_ci`), migrated. */
export const openProjectCiDatabase = (opts: ServiceDatabaseOptions): Promise<ProjectCiDatabase> => openServiceDatabase<Db>('project-ci', PRISMA_DIR, opts);
