import type { ServiceDefinition } from '@codeagent/service';
import { snapshotPolicyOf } from '@codeagent/db';
import { Conversation } from './conversation/conversation';
import type { ServiceEnv } from './env';
import { Answerers } from './answerer/answerers';
import { answerHandler, answererClaimHandler, answererNextHandler, answererReleaseHandler } from './handlers/project-ci.answerer.handlers';
import { chatHandler } from './handlers/project-ci.chat.handler';
import { getHandler } from './handlers/project-ci.get.handler';
import { historyHandler } from './handlers/project-ci.history.handler';
import { listHandler } from './handlers/project-ci.list.handler';
import { busAuthorizer } from './bus/authorizer';
import { BusModelClient } from './bus/model-client';
import { busNotifier } from './bus/notifier';
import { listProjects } from './bus/projects-source';
import { projectCreatedHandler } from './handlers/project.created.handler';
import { projectDeletedHandler } from './handlers/project.deleted.handler';
import { projectUpdatedHandler } from './handlers/project.updated.handler';
import { HealthMonitor } from './registry/health-monitor';
import { reconcile } from './registry/reconcile';
import { ProjectCiRegistry } from './registry/registry';
import { openProjectCiDatabase } from './repositories/database';
import { PrismaHistoryRepository } from './repositories/history.repository';
import { PrismaRegistryRepository } from './repositories/registry.repository';

/**
 * The project-ci service for runService (its composition root): its database, the registry of the
 * projects' chat sockets, the answerers, the handlers, and the project events it follows.
 */
export function projectCiService(env: ServiceEnv): ServiceDefinition<'project-ci'> {
  return {
    service: 'project-ci',
    env,
    opsPort: env.PROJECT_CI_PORT,
    start: async ({ bus, log }) => {
      const answerers = new Answerers({
        leaseMs: env.PROJECT_CI_ANSWERER_LEASE_MS,
        answerTimeoutMs: env.PROJECT_CI_LLM_TIMEOUT_MS,
        instanceId: bus.instanceId,
        log: log.child({ component: 'answerers' }),
      });
      const db = await openProjectCiDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, log, snapshots: snapshotPolicyOf(env) });
      const conversation = new Conversation({
        history: new PrismaHistoryRepository(db.client),
        model: new BusModelClient(bus, {
          timeoutMs: env.PROJECT_CI_LLM_TIMEOUT_MS,
          defaultProvider: env.PROJECT_CI_DEFAULT_PROVIDER,
          defaultModel: env.PROJECT_CI_DEFAULT_MODEL,
        }),
        keepMessages: env.PROJECT_CI_HISTORY_MESSAGES,
        contextChars: env.PROJECT_CI_CONTEXT_CHARS,
      });
      const registry = new ProjectCiRegistry({
        host: env.PROJECT_CI_HOST,
        portBase: env.PROJECT_CI_PORT_BASE,
        maxLineBytes: env.PROJECT_CI_MAX_LINE_BYTES,
        maxClients: env.PROJECT_CI_MAX_CLIENTS,
        closeGraceMs: env.PROJECT_CI_CLOSE_GRACE_MS,
        maxMissedPings: env.PROJECT_CI_MAX_MISSED_PINGS,
        pingTimeoutMs: env.PROJECT_CI_PING_TIMEOUT_MS,
        repository: new PrismaRegistryRepository(db.client),
        conversation,
        notifier: busNotifier(bus, log),
        answerers,
        ...(env.PROJECT_CI_AUTH === 'team' ? { authorizer: busAuthorizer(bus, env.PROJECT_CI_AUTH_TIMEOUT_MS) } : {}),
        log: log.child({ component: 'registry' }),
      });
      const health = new HealthMonitor(() => registry.checkHealth(), env.PROJECT_CI_HEALTH_INTERVAL_MS, log);
      return {
        handlers: {
          'project-ci.chat': chatHandler(registry.chat),
          'project-ci.list': listHandler(registry),
          'project-ci.get': getHandler(registry),
          'project-ci.history': historyHandler(registry.chat),
          'project-ci.answerer.claim': answererClaimHandler(registry.chat),
          'project-ci.answerer.next': answererNextHandler(answerers),
          'project-ci.answerer.answer': answerHandler(answerers),
          'project-ci.answerer.release': answererReleaseHandler(answerers),
        },
        checks: async () => {
          await db.ping();
          return { database: 'ok' };
        },
        afterStart: async () => {
          await registry.restore();
          // Before consuming events: projects created before this service first subscribed get their CI
          // too. Without the orchestrator the registry as kept is used, and the events bring it up to date.
          try {
            const done = await reconcile(registry, await listProjects(bus, env.PROJECT_CI_RECONCILE_TIMEOUT_MS));
            log.info(done, 'project CI registry reconciled with the orchestrator');
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'could not reconcile with the orchestrator; using the registry as kept');
          }
          // Ordered: a project's created, updated and deleted events apply in the order they happened.
          await bus.subscribe(
            'project-ci',
            {
              'project.created': projectCreatedHandler(registry),
              'project.updated': projectUpdatedHandler(registry),
              'project.deleted': projectDeletedHandler(registry),
            },
            { durable: true, ordered: true },
          );
          health.start();
        },
        stop: async () => {
          await health.stop();
          await registry.stopAll();
          await db.close();
        },
      };
    },
  };
}
