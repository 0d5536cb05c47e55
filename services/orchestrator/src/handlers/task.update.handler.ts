import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { assertOwnerOrAdmin } from '../sessions/access';
import type { CoreDeps } from './context';

/** `orchestrator.task.update`: a member may not give a task to someone else; a linked session must exist. */
export const taskUpdateHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.task.update'> =>
  async (req, ctx) => {
    const t = await d.tasks.get(req.taskId);
    assertOwnerOrAdmin(req.actor, t.owner, `task ${t.id}`);
    if (req.actor && req.actor.role !== 'admin' && req.owner && req.owner !== req.actor.userId) {
      throw new AppError('FORBIDDEN', 'only an admin may give a task to another user');
    }
    if (req.sessionId) assertOwnerOrAdmin(req.actor, (await d.manager.get(req.sessionId)).owner, `session ${req.sessionId}`);
    return d.tasks.update(req, req.actor?.userId ?? ctx.metadata.user);
  };
