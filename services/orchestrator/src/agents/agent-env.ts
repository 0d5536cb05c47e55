import { envInt } from '@codeagent/config';
import { z } from 'zod';

/** The agents' part of the orchestrator's environment (spread into env.ts). */
export const AgentEnv = {
  /** 32-byte key sealing provider API keys (64 hex chars or base64); absent: a generated 0600 key file under DATA_DIR/orchestrator. */
  ORCHESTRATOR_SECRET_KEY: z.string().min(1).optional(),
  /** Default limit on model steps per run. */
  ORCHESTRATOR_AGENT_MAX_STEPS: envInt(50, 1, 1000),
  /** Default budget in US dollars per run. */
  ORCHESTRATOR_AGENT_BUDGET_USD: z.coerce.number().positive().default(2),
  /** Default wall-time limit per run. */
  ORCHESTRATOR_AGENT_TIMEOUT_MS: envInt(30 * 60_000, 1000, 86_400_000),
  /** Consecutive failures that open a provider's circuit, and how long it stays open. */
  ORCHESTRATOR_PROVIDER_FAILURES: envInt(3, 1, 100),
  ORCHESTRATOR_PROVIDER_COOLDOWN_MS: envInt(30_000, 0, 3_600_000),
};
