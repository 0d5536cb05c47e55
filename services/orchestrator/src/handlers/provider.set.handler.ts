import type { CommandHandler } from '@codeagent/bus';
import type { AgentEventSink } from '../agents/events';
import type { ProviderRegistry } from '../providers/registry';

/** `orchestrator.provider.set`: configures a provider; its key is sealed before it is stored. */
export const providerSetHandler =
  (registry: ProviderRegistry, sink: AgentEventSink): CommandHandler<'orchestrator.provider.set'> =>
  async (req, ctx) => {
    const info = await registry.set(req);
    // The log line names the provider, never the key.
    ctx.log.info({ provider: req.name, projectId: req.projectId, keyChanged: req.apiKey !== undefined }, 'provider configured');
    await sink.publish('provider.changed', { projectId: req.projectId, name: req.name, change: 'set', at: new Date().toISOString() });
    return info;
  };
