import path from 'node:path';
import { z } from 'zod';
import type { DatabaseSnapshotPolicy } from './backup/daily';

/** The env variable of the data pattern; a service spreads it into its loadEnv({...}) shape. */
export const DatabaseEnv = {
  /**
   * Unset: a SQLite file per service under DATA_DIR. `file:<path>`: that SQLite file.
   * `postgresql://...`: PostgreSQL, each service in its own schema (named after it unless `?schema=`).
   */
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, 'expected file:<path>, postgres:// or postgresql://')
    .optional(),
  /** Seed 003's automatic daily snapshots: each service copies its own database once per this many ms, consistent while it runs (0: never). */
  DB_SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(0).default(86_400_000),
  /** Snapshots kept per service; older ones are deleted. */
  DB_SNAPSHOT_KEEP: z.coerce.number().int().min(1).default(7),
  /** Where they go (`<dir>/<period start>/<service>.db` or `.pgdump.gz`); default DATA_DIR/db-snapshots. Restore one with `codeagent admin restore <dir>/<period start>`. */
  DB_SNAPSHOT_DIR: z.string().min(1).optional(),
};

/** The daily-snapshot policy from a service's parsed env. */
export function snapshotPolicyOf(env: { DATA_DIR: string; DB_SNAPSHOT_INTERVAL_MS: number; DB_SNAPSHOT_KEEP: number; DB_SNAPSHOT_DIR?: string }): DatabaseSnapshotPolicy {
  return { intervalMs: env.DB_SNAPSHOT_INTERVAL_MS, keep: env.DB_SNAPSHOT_KEEP, dir: path.resolve(env.DB_SNAPSHOT_DIR ?? path.join(env.DATA_DIR, 'db-snapshots')) };
}
