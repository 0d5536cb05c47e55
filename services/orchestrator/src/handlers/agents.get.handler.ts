import type { CommandHandler } from '@codeagent/bus';
import type { ProviderRegistry } from '../providers/registry';

/** `orchestrator.agents.get`: provider, model and fallbacks of each role. */
export const agentsGetHandler =
  (registry: ProviderRegistry): CommandHandler<'orchestrator.agents.get'> =>
  async ({ projectId }) => ({ projectId, roles: await registry.roles(projectId) });
