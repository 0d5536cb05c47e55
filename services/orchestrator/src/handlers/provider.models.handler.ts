import type { CommandHandler } from '@codeagent/bus';
import { listProviderModels } from '../providers/model-catalog';
import type { ProviderRegistry } from '../providers/registry';

/** `orchestrator.provider.models`: a provider's installed or available models from its own API, searched and paged. */
export const providerModelsHandler =
  (registry: ProviderRegistry): CommandHandler<'orchestrator.provider.models'> =>
  async ({ projectId, name, source, query, cursor, limit }) => {
    const connection = await registry.connection(name, projectId);
    return { provider: name, source, ...(await listProviderModels(connection, { source, query, cursor, limit })) };
  };
