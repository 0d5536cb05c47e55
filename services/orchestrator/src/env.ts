import { envInt, loadEnv } from '@codeagent/config';
import { DatabaseEnv } from '@codeagent/db';
import { AgentEnv } from './agents/agent-env';
import { CoreEnv } from './core-env';

/** The orchestrator service's environment, parsed once at start. */
export const loadServiceEnv = () =>
  loadEnv({
    /** Port of this service's /health and /metrics (0 picks a free one). */
    ORCHESTRATOR_PORT: envInt(8081, 0, 65535),
    ...DatabaseEnv,
    ...AgentEnv,
    ...CoreEnv,
  });
export type ServiceEnv = ReturnType<typeof loadServiceEnv>;
