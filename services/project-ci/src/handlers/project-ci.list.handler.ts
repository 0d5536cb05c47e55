import type { CommandHandler } from '@codeagent/bus';
import type { ProjectCiRegistry } from '../registry/registry';

/** The registry: each CI's status, port and last response time. */
export const listHandler =
  (registry: ProjectCiRegistry): CommandHandler<'project-ci.list'> =>
  async () => ({ cis: await registry.list() });
