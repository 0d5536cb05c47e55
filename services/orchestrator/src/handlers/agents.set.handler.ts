import type { CommandHandler } from '@codeagent/bus';
import type { ProviderRegistry } from '../providers/registry';

/** `orchestrator.agents.set`: one role's provider, model and fallbacks. */
export const agentsSetHandler =
  (registry: ProviderRegistry): CommandHandler<'orchestrator.agents.set'> =>
  async ({ projectId, role, config }) => ({ projectId, roles: await registry.setRole(projectId, role, config) });
