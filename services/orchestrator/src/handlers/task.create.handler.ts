import type { CommandHandler } from '@codeagent/bus';
import { assertOwnerOrAdmin } from '../sessions/access';
import type { CoreDeps } from './context';

/** `orchestrator.task.create`: a member's tasks are their own; the project and session must exist. */
export const taskCreateHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.task.create'> =>
  async (req, ctx) => {
    const owner = req.actor && req.actor.role !== 'admin' ? req.actor.userId : (req.owner ?? req.actor?.userId ?? ctx.metadata.user);
    // By id or name; stored by id, so the task follows a renamed project and lands in its TASKS.md.
    // On a project the actor may see (NOT_FOUND otherwise): their own or the team's.
    const projectId = req.projectId ? (await d.projects.findVisible(req.projectId, req.actor)).id : undefined;
    if (req.sessionId) assertOwnerOrAdmin(req.actor, (await d.manager.get(req.sessionId)).owner, `session ${req.sessionId}`);
    return d.tasks.create({ ...req, projectId }, owner);
  };
