import { runService } from '@codeagent/service';
import { snapshotPolicyOf } from '@codeagent/db';
import { createAgentModule } from './agents/agents-module';
import { createCore } from './core';
import { loadServiceEnv } from './env';
import { PrismaAgentConfigStore } from './repositories/agent-config.repository';
import { PrismaAgentRunRepository } from './repositories/agent-runs.repository';
import { openOrchestratorDatabase } from './repositories/database';

async function main(): Promise<void> {
  const env = loadServiceEnv();
  await runService({
    service: 'orchestrator',
    env,
    opsPort: env.ORCHESTRATOR_PORT,
    start: async ({ bus, log }) => {
      const db = await openOrchestratorDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, log, snapshots: snapshotPolicyOf(env) });
      const agents = createAgentModule({ bus, log, env }, { config: new PrismaAgentConfigStore(db.client), runs: new PrismaAgentRunRepository(db.client) });
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
  });
}

main().catch((err: Error) => {
  console.error(`orchestrator failed to start: ${err.message}`);
  process.exit(1);
});
