import { envBool, envInt, loadEnv } from '@codeagent/config';
import { DatabaseEnv } from '@codeagent/db';

/** The analytics service's environment, parsed once at start. */
export const loadServiceEnv = (env: NodeJS.ProcessEnv = process.env) =>
  loadEnv(
    {
      /** Port of this service's /health and /metrics (0 picks a free one). */
      ANALYTICS_PORT: envInt(8084, 0, 65535),
      ...DatabaseEnv,
      /** Events per database transaction at most: bigger batches cost less CPU per event (README, benchmark), but BUS_PREFETCH must stay at least twice this. */
      ANALYTICS_BATCH_SIZE: envInt(1000, 1, 5000),
      /** How long the first event of a batch waits for more before the batch is written. */
      ANALYTICS_BATCH_WAIT_MS: envInt(50, 1, 10_000),
      /** Unacknowledged events the consumer holds: must exceed the batch size, or batches only fill by timeout. */
      BUS_PREFETCH: envInt(2000, 1, 10_000),
      /** On SQLite, commit in a worker thread so the synchronous driver never stalls the bus consumer. */
      ANALYTICS_SQLITE_WRITER_THREAD: envBool(true),
      /** Processed event ids are kept this many days to recognise redeliveries, then pruned. */
      ANALYTICS_DEDUPE_RETENTION_DAYS: envInt(30, 1, 3650),
      /** Raw usage and command facts are kept this many days (0: forever); older reports read whole days from the rollups. */
      ANALYTICS_RAW_RETENTION_DAYS: envInt(90, 0, 36_500),
    },
    env,
  );
export type ServiceEnv = ReturnType<typeof loadServiceEnv>;
