import type { CommandHandler } from '@codeagent/bus';
import { assertOwnerOrAdmin } from '../sessions/access';
import type { CoreDeps } from './context';

/** `orchestrator.task.get`. */
export const taskGetHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.task.get'> =>
  async (req) => {
    const t = await d.tasks.get(req.taskId);
    assertOwnerOrAdmin(req.actor, t.owner, `task ${t.id}`);
    return t;
  };
