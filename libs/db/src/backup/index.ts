// Backups of a service's database (issue 23): a consistent copy while the service runs, its restore,
// and seed 003's automatic daily snapshots.
export { dumpDatabase, dumpFileName, restoreDatabase } from './dump';
export { PG_DUMP_FORMAT, readPgDumpHeader, type PgDumpHeader, type TableCounts } from './pg-dump';
export { inspectSqlite } from './sqlite-copy';
export { scheduleDatabaseSnapshots, snapshotStamp, type DatabaseSnapshotPolicy, type DatabaseSnapshots } from './daily';
