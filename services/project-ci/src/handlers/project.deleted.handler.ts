import type { EventHandler } from '@codeagent/bus';
import type { ProjectCiRegistry } from '../registry/registry';

/** A project went: its CI closes gracefully and the port is free (a redelivery is a no-op). */
export const projectDeletedHandler =
  (registry: ProjectCiRegistry): EventHandler<'project.deleted'> =>
  async ({ projectId }, ctx) => {
    const removed = await registry.remove(projectId);
    ctx.log.info({ projectId, removed }, 'project CI removed');
  };
