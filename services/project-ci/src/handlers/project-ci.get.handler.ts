import type { CommandHandler } from '@codeagent/bus';
import type { ProjectCiRegistry } from '../registry/registry';

/** One project's CI, by id or name (NOT_FOUND when it has none). */
export const getHandler =
  (registry: ProjectCiRegistry): CommandHandler<'project-ci.get'> =>
  async ({ project }) => registry.get(project);
