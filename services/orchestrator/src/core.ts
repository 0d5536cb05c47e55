import { stat } from 'node:fs/promises';
import { sessionLogHandlers, type Bus } from '@codeagent/bus';
import type { SqlRunner } from '@codeagent/db';
import { AppError } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { OrphanedRuns } from './agents/orphaned-runs';
import { WatchedForwarder } from './adapters/forwarder.adapter';
import { BusPeers } from './adapters/peers.adapter';
import { BusShell } from './adapters/shell.adapter';
import { LocalTasksFiles } from './adapters/tasks-file.adapter';
import { BusWorkspace } from './adapters/workspace.adapter';
import { coreHandlers } from './handlers';
import { ProjectService } from './projects/service';
import type { Db } from './repositories/database';
import { PrismaEventsRepository } from './repositories/events.repository';
import { PrismaProjectsRepository } from './repositories/projects.repository';
import { PrismaSessionsRepository } from './repositories/sessions.repository';
import { PrismaTasksRepository } from './repositories/tasks.repository';
import { EventLog } from './sessions/event-log';
import { EventStore } from './sessions/event-store';
import { EventIngest } from './sessions/ingest';
import { SessionManager } from './sessions/manager';
import { systemClock, type CredentialsPort } from './sessions/ports';
import { Reconciler } from './sessions/recovery';
import { SessionService } from './sessions/service';
import { TaskService } from './tasks/service';

export interface CoreEnvValues {
  INSTANCE_ID: string;
  BUS_REQUEST_TIMEOUT_MS: number;
  ORCHESTRATOR_MAX_SESSIONS: number;
  ORCHESTRATOR_MAX_SESSIONS_PER_USER: number;
  ORCHESTRATOR_SESSION_IDLE_MS: number;
  ORCHESTRATOR_EXEC_TIMEOUT_MS: number;
  ORCHESTRATOR_PREPARE_TIMEOUT_MS: number;
  ORCHESTRATOR_SHELL_OPEN_TIMEOUT_MS: number;
  ORCHESTRATOR_DOCKER_OPEN_TIMEOUT_MS: number;
  ORCHESTRATOR_DISCOVERY_MS: number;
  ORCHESTRATOR_EVENT_FLUSH_MS: number;
  ORCHESTRATOR_EVENT_BATCH: number;
  ORCHESTRATOR_RECONCILE_MS: number;
  ORCHESTRATOR_SHELL_RESTART_GRACE_MS: number;
  ORCHESTRATOR_EVENTS_RETENTION_MS: number;
  ORCHESTRATOR_EVENTS_RETENTION_BYTES: number;
  ORCHESTRATOR_EVENTS_PRUNE_MS: number;
  ORCHESTRATOR_TASKS_SYNC_MS: number;
}

/**
 * Sessions, projects and tasks, assembled over the bus and the database: main.ts spreads `handlers`,
 * calls `afterStart` once the command handlers consume (subscriptions, recovery, timers) and `stop`.
 */
/** Without a provider registry, no session may ask for credentials. */
const noCredentials: CredentialsPort = {
  async resolve(names) {
    if (names.length) throw new AppError('VALIDATION_FAILED', 'credentials are not available: this orchestrator has no provider registry', { details: { fields: [{ path: 'sandbox.credentials', message: 'no provider registry' }] } });
    return [];
  },
};

export function createCore(ctx: { bus: Bus; db: Db; driver: SqlRunner; env: CoreEnvValues; log: Logger; credentials?: CredentialsPort; orphanedRuns?: Pick<OrphanedRuns, 'end'> }) {
  const { bus, db, env } = ctx;
  const log = ctx.log.child({ component: 'sessions' });
  const publisher = { publish: bus.publish.bind(bus) };
  const requestMs = env.BUS_REQUEST_TIMEOUT_MS;
  const repo = new PrismaSessionsRepository(db, ctx.driver);
  const workspace = new BusWorkspace(bus, { prepareMs: env.ORCHESTRATOR_PREPARE_TIMEOUT_MS, requestMs });
  const shell = new BusShell(bus, { openMs: env.ORCHESTRATOR_SHELL_OPEN_TIMEOUT_MS, dockerOpenMs: env.ORCHESTRATOR_DOCKER_OPEN_TIMEOUT_MS, requestMs });
  const eventsRepo = new PrismaEventsRepository(db, ctx.driver);
  const events = new EventLog(eventsRepo, publisher, shell, systemClock);
  // Busy/idle follow the stored log (the manager is made below, before any batch is stored).
  const store = new EventStore(eventsRepo, { flushMs: env.ORCHESTRATOR_EVENT_FLUSH_MS, flushBatch: env.ORCHESTRATOR_EVENT_BATCH, flushBytes: 8 * 2 ** 20 }, log.child({ component: 'event-store' }), (stored) =>
    manager.followCommands(stored),
  );
  const peers = new BusPeers(bus, env.INSTANCE_ID);
  const manager = new SessionManager({
    repo,
    events,
    workspace,
    shell,
    publisher,
    clock: systemClock,
    log,
    self: env.INSTANCE_ID,
    policy: {
      maxSessions: env.ORCHESTRATOR_MAX_SESSIONS,
      maxPerUser: env.ORCHESTRATOR_MAX_SESSIONS_PER_USER,
      idleMs: env.ORCHESTRATOR_SESSION_IDLE_MS,
      execTimeoutMs: env.ORCHESTRATOR_EXEC_TIMEOUT_MS,
    },
  });
  const projectsRepo = new PrismaProjectsRepository(db);
  // Only the commands that must run on the session's owner are forwarded (close, snapshot, signal); a
  // session's commands go straight to its jail's shell replica from whichever replica takes them.
  const forwarder = new WatchedForwarder(bus, peers, () => env.ORCHESTRATOR_PREPARE_TIMEOUT_MS);
  const sessions = new SessionService({ manager, repo, projects: projectsRepo, workspace, forwarder, credentials: ctx.credentials ?? noCredentials, self: env.INSTANCE_ID, discovery: workspace });
  const projects = new ProjectService(projectsRepo, publisher, log.child({ component: 'projects' }), workspace);
  const tasksFiles = new LocalTasksFiles(projectsRepo);
  const tasks = new TaskService(new PrismaTasksRepository(db), tasksFiles, publisher, log.child({ component: 'tasks' }), { holder: env.INSTANCE_ID, syncDelayMs: 100, leaseMs: 60_000 });
  const reconciler = new Reconciler({ repo, manager, shell, workspace, peers, log, shellRestartGraceMs: env.ORCHESTRATOR_SHELL_RESTART_GRACE_MS });
  // Then the agent runs of replicas that are gone, after the sessions: the adopter of a session owns
  // its log by the time the end of a run of it is published.
  const reconcile = async () => {
    const report = await reconciler.run();
    await ctx.orphanedRuns?.end((instanceId) => peers.isAlive(instanceId));
    return report;
  };
  const ingest = new EventIngest(events, manager, log);
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    if (ms <= 0) return;
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      fn()
        .catch((err: Error) => log.warn({ err }, `${what} failed`))
        .finally(() => (running = false));
    }, ms);
    t.unref();
    timers.push(t);
  };
  const mtimes = new Map<string, number>();

  return {
    handlers: coreHandlers({ bus, sessions, manager, events, projects, tasks, timeouts: { requestMs, snapshotMs: env.ORCHESTRATOR_PREPARE_TIMEOUT_MS } }),
    manager,
    reconciler,
    async afterStart(): Promise<void> {
      // This replica's own queue, in order: every replica sees every event and keeps its sessions'.
      await bus.subscribe(`orchestrator-${env.INSTANCE_ID}`, ingest.handlers() as never, { durable: false, ordered: true });
      // The session log, stored from one queue all replicas share, one of them consuming at a time
      // (in publish order; another takes over when it goes). Prefetch: two batches, bounded, since an
      // output chunk may be 256 KiB.
      await bus.subscribe('orchestrator-log', sessionLogHandlers((e) => store.store(e)), { singleActive: true, prefetch: Math.min(2 * env.ORCHESTRATOR_EVENT_BATCH, 256) });
      const report = await reconcile();
      if (report.adopted.length || report.failed.length || report.closed.length) log.info(report, 'sessions reconciled');
      every(env.ORCHESTRATOR_RECONCILE_MS, 'reconciliation', reconcile);
      // Every replica may run it: deletes are idempotent, and a replay reports the gap as a marker.
      every(env.ORCHESTRATOR_EVENTS_PRUNE_MS, 'event retention', async () => {
        const gone = await events.prune({ maxAgeMs: env.ORCHESTRATOR_EVENTS_RETENTION_MS, maxBytesPerSession: env.ORCHESTRATOR_EVENTS_RETENTION_BYTES });
        if (gone) log.info({ gone }, 'session events pruned (retention)');
      });
      if (env.ORCHESTRATOR_SESSION_IDLE_MS > 0) every(Math.min(env.ORCHESTRATOR_SESSION_IDLE_MS / 4, 30_000), 'idle check', () => manager.closeIdle());
      // A project's files change outside the platform (it is the user's folder): what they ask for is read
      // again. A remote git project has no folder to read (the workspace says so at once): its sessions' are.
      every(env.ORCHESTRATOR_DISCOVERY_MS, 'project discovery', async () => {
        for (const p of await projectsRepo.list()) await projects.rediscover(p);
      });
      every(env.ORCHESTRATOR_TASKS_SYNC_MS, 'TASKS.md check', async () => {
        for (const p of await projectsRepo.list()) {
          const located = await tasksFiles.locate(p.id);
          if (!located) continue;
          const m = await stat(located).then((s) => s.mtimeMs, () => 0);
          if (m && mtimes.get(located) !== m) {
            mtimes.set(located, m);
            await tasks.sync(p.id).catch((err: Error) => {
              // Another replica is syncing: look again next time rather than lose this edit.
              if (err instanceof AppError && err.code === 'CONFLICT') mtimes.delete(located);
              else log.warn({ err, projectId: p.id }, 'TASKS.md not synced');
            });
          }
        }
      });
    },
    async stop(): Promise<void> {
      for (const t of timers) clearInterval(t);
      tasks.close();
      store.stop();
    },
  };
}
