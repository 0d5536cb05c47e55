import type { ServiceDefinition } from '@codeagent/service';
import { snapshotPolicyOf } from '@codeagent/db';
import type { ServiceEnv } from './env';
import { analyticsLatencyHandler } from './handlers/analytics.latency.handler';
import { analyticsOverviewHandler } from './handlers/analytics.overview.handler';
import { analyticsSessionsHandler } from './handlers/analytics.sessions.handler';
import { analyticsUsageHandler } from './handlers/analytics.usage.handler';
import { eventsHandler } from './handlers/events.handler';
import { Ingestor } from './ingest/ingestor';
import { countCommitted, registerPlatformMetrics } from './ingest/metrics';
import { DAY_MS } from './ingest/time';
import { rawHorizon } from './reports/range';
import { openAnalyticsDatabase } from './repositories/database';
import { IngestRepository } from './repositories/ingest.repository';
import { LatencyRepository } from './repositories/latency.repository';
import { ReportRepository } from './repositories/report.repository';
import { WorkerIngestStore } from './repositories/worker-ingest.store';

const PRUNE_EVERY_MS = 3_600_000;

/**
 * The analytics service for runService (its composition root): its database, the ingestion of every
 * event (its own durable queue `codeagent.analytics.events`), the report commands, the platform
 * metrics. main.ts runs it; tests run it in-process with their own broker vhost and database.
 */
export function analyticsService(env: ServiceEnv): ServiceDefinition<'analytics'> {
  return {
    service: 'analytics',
    env,
    opsPort: env.ANALYTICS_PORT,
    start: async ({ bus, log }) => {
      if (env.BUS_PREFETCH < 2 * env.ANALYTICS_BATCH_SIZE) {
        log.warn({ prefetch: env.BUS_PREFETCH, batchSize: env.ANALYTICS_BATCH_SIZE }, 'BUS_PREFETCH is under twice ANALYTICS_BATCH_SIZE: the next batch cannot fill while one commits, so ingestion slows');
      }
      const db = await openAnalyticsDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, log, snapshots: snapshotPolicyOf(env) });
      const ingestRepo = new IngestRepository(db.driver, db.target.kind);
      const writer =
        db.target.kind === 'sqlite' && env.ANALYTICS_SQLITE_WRITER_THREAD ? await WorkerIngestStore.start({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR }) : undefined;
      const reports = new ReportRepository(db.sql);
      registerPlatformMetrics(() => reports.activeSessions());
      const ingestor = new Ingestor(writer ?? ingestRepo, {
        batchSize: env.ANALYTICS_BATCH_SIZE,
        batchWaitMs: env.ANALYTICS_BATCH_WAIT_MS,
        onCommitted: (writes, fresh, batch) => countCommitted(writes, batch, fresh),
      });
      let pruning: Promise<unknown> = Promise.resolve();
      const prune = () =>
        (pruning = (async () => {
          const now = Date.now();
          const ids = await ingestRepo.pruneProcessed(now - env.ANALYTICS_DEDUPE_RETENTION_DAYS * DAY_MS);
          const facts = env.ANALYTICS_RAW_RETENTION_DAYS > 0 ? await ingestRepo.pruneRaw(rawHorizon(now, env.ANALYTICS_RAW_RETENTION_DAYS)) : 0;
          if (ids + facts > 0) log.info({ ids, facts }, 'pruned processed event ids and raw facts past their retention');
        })().catch((err: Error) => log.warn({ err: err.message }, 'could not prune past retention')));
      const pruneTimer = setInterval(prune, PRUNE_EVERY_MS).unref();
      return {
        handlers: {
          'analytics.usage': analyticsUsageHandler(reports, env.ANALYTICS_RAW_RETENTION_DAYS),
          'analytics.sessions': analyticsSessionsHandler(reports, env.ANALYTICS_RAW_RETENTION_DAYS),
          'analytics.overview': analyticsOverviewHandler(reports, env.ANALYTICS_RAW_RETENTION_DAYS),
          'analytics.latency': analyticsLatencyHandler(new LatencyRepository(db.sql), env.ANALYTICS_RAW_RETENTION_DAYS),
        },
        checks: async (): Promise<Record<string, string>> => {
          await db.ping();
          if (!writer) return { database: 'ok' };
          writer.check();
          return { database: 'ok', writerThread: 'ok' };
        },
        afterStart: async () => {
          // Not the session logs (session.event: every output chunk) nor an SSH agent attach terminal's
          // output (keystroke echoes); the shell's command facts say what ran.
          await bus.subscribeAll('analytics', eventsHandler(ingestor), { except: ['session.event', 'session.event.batch', 'shell.agent.attach.output'] });
          prune();
        },
        stop: async () => {
          clearInterval(pruneTimer);
          await pruning;
          await ingestor.drain();
          await writer?.close();
          await db.close();
        },
      };
    },
  };
}
