import type { CommandHandler } from '@codeagent/bus';
import { ownerFilter } from '../sessions/access';
import type { CoreDeps } from './context';

/** `orchestrator.task.list`: a member sees their own; `projectId` may be the project's name, as in create. */
export const taskListHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.task.list'> =>
  async (req) => {
    // An id no project has any more (deleted) still lists the tasks left with it.
    const projectId = req.projectId ? ((await d.projects.findVisible(req.projectId, req.actor).catch(() => undefined))?.id ?? req.projectId) : undefined;
    return d.tasks.list({ ...req, projectId }, ownerFilter(req.actor, req.owner));
  };
