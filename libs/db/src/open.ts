import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { scheduleDatabaseSnapshots, type DatabaseSnapshotPolicy } from './backup';
import { readMigrations } from './migrations';
import { applyMigrations, type MigrationResult } from './migrator';
import { postgresRunner, sqliteRunner, withStatementSpans, type SqliteAdapter, type SqlRunner } from './sql';
import { describeTarget, resolveTarget, type DatabaseTarget } from './target';

/** What a generated PrismaClient looks like to this library (both variants satisfy it). */
export interface PrismaLike {
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
}

/** A generated client's constructor; Prisma's takes `{ adapter }` when generated with engineType "client". */
export type ClientConstructor = new (options: { adapter: never }) => unknown;

export interface OpenDatabaseOptions<C extends PrismaLike> {
  /** The service: names its SQLite file (`<dataDir>/<service>.db`) and its PostgreSQL schema. */
  service: string;
  /** The service's `prisma/` folder, holding `sqlite/migrations` and `postgres/migrations`. */
  prismaDir: string;
  /** DATABASE_URL; unset means SQLite under dataDir. */
  databaseUrl?: string;
  /** DATA_DIR. */
  dataDir: string;
  /**
   * The service's two generated clients, loaded lazily so that a SQLite deployment never loads the
   * PostgreSQL one. The SQLite client's type is the one the service programs against: its API is
   * the common subset of the two.
   */
  clients: { sqlite: () => new (options: { adapter: PrismaBetterSQLite3 }) => C; postgres: () => ClientConstructor };
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
  /** Told what was migrated (for the service's log). */
  onMigrated?: (info: { target: string } & MigrationResult) => void;
  /** Seed 003's automatic snapshots of this database (snapshotPolicyOf(env)); none when absent. */
  snapshots?: DatabaseSnapshotPolicy & { log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void } };
}

export interface Database<C> {
  client: C;
  target: DatabaseTarget;
  /** e.g. `sqlite:/data/orchestrator.db` or `postgres:127.0.0.1:5432/codeagent#orchestrator`, no credentials. */
  description: string;
  /** Plain SQL straight to the driver, on Prisma's connection(s), for hot paths (sql.ts). */
  driver: SqlRunner;
  /** A cheap round trip, for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a service's database: resolves DATABASE_URL, applies the service's checked-in migrations for
 * that kind of database, and returns its Prisma client on the matching driver adapter.
 */
export async function openDatabase<C extends PrismaLike>(opts: OpenDatabaseOptions<C>): Promise<Database<C>> {
  const target = resolveTarget({ service: opts.service, databaseUrl: opts.databaseUrl, dataDir: opts.dataDir });
  const description = describeTarget(target);
  const result = await applyMigrations(target, readMigrations(opts.prismaDir, target.kind));
  opts.onMigrated?.({ target: description, ...result });

  let client: C;
  let driver: SqlRunner;
  if (target.kind === 'sqlite') {
    const Client = opts.clients.sqlite();
    // timeout: how long a writer waits for another connection's write lock (SQLITE_BUSY otherwise).
    const factory = new PrismaBetterSQLite3({ url: target.file, timeout: 30_000 });
    // The adapter Prisma connects through is kept, so that plain SQL uses its connection and lock.
    let adapter: SqliteAdapter | undefined;
    const connect = factory.connect.bind(factory);
    factory.connect = async () => {
      const a = await connect();
      adapter = a as unknown as SqliteAdapter;
      return a;
    };
    client = new Client({ adapter: factory });
    driver = withStatementSpans('sqlite', sqliteRunner(() => adapter));
  } else {
    const Client = opts.clients.postgres();
    // search_path too, so that raw SQL finds the service's tables like Prisma's own queries do.
    const pool = new Pool({ connectionString: target.url, max: opts.poolSize ?? 10, options: `-c search_path="${target.schema}"` });
    const adapter = new PrismaPg(pool, { schema: target.schema, disposeExternalPool: true });
    client = new Client({ adapter: adapter as never }) as C;
    driver = withStatementSpans('postgresql', postgresRunner(pool));
  }
  await client.$connect();
  const snapshots = opts.snapshots?.intervalMs
    ? scheduleDatabaseSnapshots({
        service: opts.service,
        target,
        policy: opts.snapshots,
        onSnapshot: ({ file, tables }) => opts.snapshots?.log?.info({ file, tables }, 'database snapshot taken'),
        onError: (err) => opts.snapshots?.log?.error({ err: err.message }, 'database snapshot failed; retried at the next check'),
      })
    : undefined;
  const raw = client as unknown as { $queryRawUnsafe(sql: string): Promise<unknown> };
  return {
    client,
    target,
    description,
    driver,
    ping: async () => {
      await raw.$queryRawUnsafe('SELECT 1');
    },
    close: async () => {
      await snapshots?.stop();
      await client.$disconnect();
    },
  };
}
