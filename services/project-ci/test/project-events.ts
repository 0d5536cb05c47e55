import type { Bus } from '@codeagent/bus';
import type { ProjectEventV1 } from '@codeagent/contracts';

/** The orchestrator's project events, as a test publishes them on its own vhost. */
function payload(p: { id: string; name: string; index: number; provider?: string; model?: string }): ProjectEventV1 {
  return {
    projectId: p.id,
    name: p.name,
    index: p.index,
    settings: p.provider || p.model ? { ci: { provider: p.provider, model: p.model } } : {},
    source: { kind: 'empty' },
    at: new Date().toISOString(),
  };
}

export const projectCreated = (bus: Bus, p: Parameters<typeof payload>[0]) => bus.publish('project.created', payload(p));
export const projectUpdated = (bus: Bus, p: Parameters<typeof payload>[0]) => bus.publish('project.updated', payload(p));
export const projectDeleted = (bus: Bus, p: Parameters<typeof payload>[0]) => bus.publish('project.deleted', payload(p));
