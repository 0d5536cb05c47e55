import type { CommandHandler } from '@codeagent/bus';
import type { ModelPulls } from '../providers/model-pull';
import type { ProviderRegistry } from '../providers/registry';

/** `orchestrator.provider.pull`: starts installing a model on a local server; progress follows as provider.model.pull events. */
export const providerPullHandler =
  (registry: ProviderRegistry, pulls: ModelPulls, instanceId: string): CommandHandler<'orchestrator.provider.pull'> =>
  async ({ projectId, name, model, pullId }, ctx) => {
    const connection = await registry.connection(name, projectId);
    const id = pulls.start(connection, model, { pullId, projectId });
    ctx.log.info({ provider: name, model, pullId: id }, 'model install started');
    return { pullId: id, instanceId };
  };

/** `orchestrator.provider.pull.status`: the steps of a pull this replica runs, after `afterSeq`. */
export const providerPullStatusHandler =
  (pulls: ModelPulls): CommandHandler<'orchestrator.provider.pull.status'> =>
  async ({ pullId, afterSeq }) => ({ steps: pulls.steps(pullId, afterSeq) });
