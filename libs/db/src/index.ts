export { openDatabase, type Database, type OpenDatabaseOptions, type PrismaLike } from './open';
export { openServiceDatabase, isNotFound, isUniqueViolation, type ServiceDatabaseOptions } from './service-database';
export { resolveTarget, describeTarget, schemaNameFor, type DatabaseTarget } from './target';
export { applyMigrations, MigrationError, type MigrationResult } from './migrator';
export { readMigrations, migrationsDir, type Migration, type DatabaseKind } from './migrations';
export { DatabaseEnv, snapshotPolicyOf } from './env';
export { withQuerySpans, withRawQuerySpans } from './tracing';
export type { SqlRow, SqlRun, SqlRunner, SqlValue } from './sql';
export { readTimestamp, timestampAsText } from './sql';
export {
  dumpDatabase,
  dumpFileName,
  restoreDatabase,
  readPgDumpHeader,
  inspectSqlite,
  scheduleDatabaseSnapshots,
  snapshotStamp,
  PG_DUMP_FORMAT,
  type DatabaseSnapshotPolicy,
  type PgDumpHeader,
  type TableCounts,
} from './backup';
