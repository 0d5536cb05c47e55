import type { EventHandler } from '@codeagent/bus';
import { toProjectInfo } from '../registry/project-info';
import type { ProjectCiRegistry } from '../registry/registry';

/** A project was renamed or its settings changed: the CI follows (same port unless its index changed). */
export const projectUpdatedHandler =
  (registry: ProjectCiRegistry): EventHandler<'project.updated'> =>
  async (payload) => {
    await registry.ensure(toProjectInfo(payload));
  };
