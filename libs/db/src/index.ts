export { openDatabase, type Database, type OpenDatabaseOptions, type PrismaLike } from './open';
export { resolveTarget, describeTarget, schemaNameFor, type DatabaseTarget } from './target';
export { applyMigrations, MigrationError, type MigrationResult } from './migrator';
export { readMigrations, migrationsDir, type Migration, type DatabaseKind } from './migrations';
export { DatabaseEnv } from './env';
export { withQuerySpans } from './tracing';
