import { stat } from 'node:fs/promises';
import type { Bus } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { snapshotPolicyOf, type SqlRunner } from '@codeagent/db';
import type { ServiceDefinition } from '@codeagent/service';
import type { Logger } from '@codeagent/telemetry';
import { WatchedForwarder } from './adapters/forwarder.adapter';
import { BusPeers } from './adapters/peers.adapter';
import { BusShell } from './adapters/shell.adapter';
import { LocalTasksFiles } from './adapters/tasks-file.adapter';
import { BusWorkspace } from './adapters/workspace.adapter';
import { createAgentModule } from './agents/agents-module';
import { sessionResolver } from './agents/session-context';
import type { OrphanedRuns } from './agents/orphaned-runs';
import type { ServiceEnv } from './env';
import { coreHandlers, replicaEventHandlers } from './handlers';
import { sessionLogStoreHandlers } from './handlers/session.event.handler';
import { ProjectService } from './projects/service';
import { PrismaAgentConfigStore } from './repositories/agent-config.repository';
import { PrismaAgentRunRepository } from './repositories/agent-runs.repository';
import { openOrchestratorDatabase, type Db } from './repositories/database';
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
import { SessionPool } from './sessions/pool';
import { SessionService } from './sessions/service';
import { TaskService } from './tasks/service';

/**
 * The orchestrator service for runService (its composition root): its database, the agents module
 * (agents/agents-module.ts) and the sessions, projects and tasks (createCore), their handlers and
 * subscriptions, the reconciliation and the periodic jobs.
 */
export function orchestratorService(env: ServiceEnv): ServiceDefinition<'orchestrator'> {
  return {
    service: 'orchestrator',
    env,
    opsPort: env.ORCHESTRATOR_PORT,
    start: async ({ bus, log }) => {
      const db = await openOrchestratorDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, log, snapshots: snapshotPolicyOf(env) });
      // The agents read sessions and projects through those modules' public views, in this process (a
      // run starts after both exist); their tool calls that act (update_task) go through the commands.
      const agents = createAgentModule(
        { bus, log, env },
        {
          config: new PrismaAgentConfigStore(db.client),
          runs: new PrismaAgentRunRepository(db.client),
          sessions: sessionResolver((sessionId) => core.sessions.get(sessionId, {})),
          projects: { get: (projectId) => core.projects.get(projectId) },
        },
      );
      // Sessions' `sandbox.credentials` come from the provider registry (keys unsealed only for shell.open).
      const credentials = { resolve: (names: string[], projectId?: string) => agents.registry.egressCredentials(names, projectId) };
      const core = createCore({ bus, db: db.client, driver: db.driver, env, log, credentials, orphanedRuns: agents.orphanedRuns });
      return {
        handlers: {
          ...core.handlers,
          ...agents.handlers,
        },
        afterStart: () => core.afterStart(),
        checks: async () => {
          await db.ping();
          return { database: 'ok' };
        },
        stop: async () => {
          await agents.stop();
          await core.stop();
          await db.close();
        },
      };
    },
  };
}

/** Without a provider registry, no session may ask for credentials. */
const noCredentials: CredentialsPort = {
  async resolve(names) {
    if (names.length) throw new AppError('VALIDATION_FAILED', 'credentials are not available: this orchestrator has no provider registry', { details: { fields: [{ path: 'sandbox.credentials', message: 'no provider registry' }] } });
    return [];
  },
};

/**
 * Sessions, projects and tasks, assembled over the bus and the database: the service spreads
 * `handlers`, calls `afterStart` once the command handlers consume (subscriptions, recovery, timers)
 * and `stop`.
 */
function createCore(ctx: { bus: Bus; db: Db; driver: SqlRunner; env: ServiceEnv; log: Logger; credentials?: CredentialsPort; orphanedRuns?: Pick<OrphanedRuns, 'end'> }) {
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
    manager.commands.follow(stored),
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
  // The default shape: a create that asks for no sandbox.
  const pool = new SessionPool({ manager, repo, log: log.child({ component: 'pool' }), shapes: [{ size: env.ORCHESTRATOR_POOL_SIZE, sandbox: {} }, ...env.ORCHESTRATOR_POOL_SHAPES] });
  const sessions = new SessionService({ manager, repo, projects: projectsRepo, workspace, forwarder, credentials: ctx.credentials ?? noCredentials, self: env.INSTANCE_ID, discovery: workspace, pool });
  const projects = new ProjectService(projectsRepo, publisher, log.child({ component: 'projects' }), workspace);
  const tasksFiles = new LocalTasksFiles(projectsRepo);
  const tasks = new TaskService(new PrismaTasksRepository(db), tasksFiles, publisher, log.child({ component: 'tasks' }), { holder: env.INSTANCE_ID, syncDelayMs: 100, leaseMs: 60_000 });
  const reconciler = new Reconciler({ repo, manager, shell, workspace, peers, log, shellRestartGraceMs: env.ORCHESTRATOR_SHELL_RESTART_GRACE_MS });
  // Then the agent runs of replicas that are gone, after the sessions: the adopter of a session owns
  // its log by the time the end of a run of it is published.
  const reconcile = async () => {
    const report = await reconciler.run();
    await ctx.orphanedRuns?.end((instanceId) => peers.isAlive(instanceId));
    // The pool's sessions that were adopted join this replica's pool; those that failed leave it.
    await pool.sync();
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
    sessions,
    projects,
    manager,
    reconciler,
    async afterStart(): Promise<void> {
      // This replica's own queue, in order: every replica sees every event and keeps its sessions'.
      await bus.subscribe(`orchestrator-${env.INSTANCE_ID}`, replicaEventHandlers(ingest), { durable: false, ordered: true });
      // The session log, stored from one queue all replicas share, one of them consuming at a time
      // (in publish order; another takes over when it goes). Prefetch: two batches, bounded, since an
      // output event may be SHELL_OUTPUT_CHUNK_BYTES (1 MiB by default).
      await bus.subscribe('orchestrator-log', sessionLogStoreHandlers(store), { singleActive: true, prefetch: Math.min(2 * env.ORCHESTRATOR_EVENT_BATCH, 256) });
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
      await pool.stop();
      tasks.close();
      store.stop();
    },
  };
}
