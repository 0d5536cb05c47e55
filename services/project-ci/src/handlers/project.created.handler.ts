import type { EventHandler } from '@codeagent/bus';
import { toProjectInfo } from '../registry/project-info';
import type { ProjectCiRegistry } from '../registry/registry';

/** A project appeared: its CI starts on base + index (idempotent: a redelivery changes nothing). */
export const projectCreatedHandler =
  (registry: ProjectCiRegistry): EventHandler<'project.created'> =>
  async (payload, ctx) => {
    const ci = await registry.ensure(toProjectInfo(payload));
    ctx.log.info({ projectId: ci.project_id, port: ci.socket_port, status: ci.status }, 'project CI ensured');
  };
