import type { CommandHandler } from '@codeagent/bus';
import type { ProviderRegistry } from '../providers/registry';

/** `orchestrator.provider.list`: providers of a project (or the global ones) and their models; never a key. */
export const providerListHandler =
  (registry: ProviderRegistry): CommandHandler<'orchestrator.provider.list'> =>
  async ({ projectId, refreshModels }) => ({ providers: await registry.list(projectId, refreshModels) });
