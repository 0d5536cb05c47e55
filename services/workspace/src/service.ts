import path from 'node:path';
import { snapshotPolicyOf } from '@codeagent/db';
import type { ServiceDefinition } from '@codeagent/service';
import type { ServiceEnv } from './env';
import { workspaceHandlers } from './handlers';
import { openWorkspaceDatabase } from './repositories/database';
import { PrismaWorkspaceRepository } from './repositories/prisma-workspace.repository';
import { createWorkspaceApp } from './workspaces/app';

/**
 * The workspace service for runService (its composition root): its database, the volumes' storage and
 * pool (workspaces/app.ts), the handlers, and a periodic sweep of idle workspaces.
 */
export function workspaceService(env: ServiceEnv): ServiceDefinition<'workspace'> {
  const root = path.resolve(env.WORKSPACE_DATA_DIR ?? path.join(env.DATA_DIR, 'workspace'));
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  return {
    service: 'workspace',
    env,
    opsPort: env.WORKSPACE_PORT,
    start: async ({ bus, log }) => {
      const db = await openWorkspaceDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, log, snapshots: snapshotPolicyOf(env) });
      const repo = new PrismaWorkspaceRepository(db.client, db.driver);
      const app = await createWorkspaceApp({
        root,
        snapshotDir: env.WORKSPACE_SNAPSHOT_DIR,
        cow: env.WORKSPACE_COW_MODE,
        quota: env.WORKSPACE_QUOTA_MODE,
        repo,
        log,
        publish: async (name, payload) => {
          await bus.publish(name, payload);
        },
        config: {
          defaultQuotaMb: env.WORKSPACE_DEFAULT_QUOTA_MB,
          globalCapMb: env.WORKSPACE_GLOBAL_CAP_MB,
          idleTimeoutMs: env.WORKSPACE_IDLE_TIMEOUT_MS,
          allowedRoots: env.WORKSPACE_ALLOWED_ROOTS,
          maxFileBytes: env.WORKSPACE_MAX_FILE_BYTES,
          maxListEntries: env.WORKSPACE_MAX_LIST_ENTRIES,
          maxLayerDepth: env.WORKSPACE_MAX_LAYER_DEPTH,
          poolSize: env.WORKSPACE_POOL_SIZE,
        },
      });
      await app.lifecycle.recover();
      return {
        handlers: workspaceHandlers(app),
        checks: async () => ({
          database: await db.ping().then(() => 'ok'),
          storage: `${app.storage.caps.overlay ? 'overlay' : 'copy'}+${app.storage.caps.loop ? 'hard' : 'soft'}-quota`,
        }),
        afterStart: async () => {
          sweeper = setInterval(() => {
            if (sweeping) return;
            sweeping = app.lifecycle
              .sweep()
              .catch((err: unknown) => log.error({ err }, 'workspace sweep failed'))
              .finally(() => (sweeping = undefined));
          }, env.WORKSPACE_SWEEP_INTERVAL_MS);
          sweeper.unref();
        },
        stop: async () => {
          if (sweeper) clearInterval(sweeper);
          await sweeping; // a sweep removing a workspace must not race the unmounts
          await app.stop({ unmount: env.WORKSPACE_UNMOUNT_ON_STOP });
          await db.close();
        },
      };
    },
  };
}
