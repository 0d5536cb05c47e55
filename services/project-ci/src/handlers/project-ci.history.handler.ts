import type { CommandHandler } from '@codeagent/bus';
import type { ProjectCiRegistry } from '../registry/registry';

/** A project's kept conversation, from both doors. */
export const historyHandler =
  (registry: ProjectCiRegistry): CommandHandler<'project-ci.history'> =>
  async ({ project, limit }) => {
    const h = await registry.history(project, limit);
    return { project_name: h.name, messages: h.messages };
  };
