import type { CommandHandler } from '@codeagent/bus';
import { assertOwnerOrAdmin } from '../sessions/access';
import type { CoreDeps } from './context';

/** `orchestrator.task.delete`. */
export const taskDeleteHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.task.delete'> =>
  async (req) => {
    const t = await d.tasks.get(req.taskId).catch(() => undefined);
    if (!t) return { deleted: false };
    assertOwnerOrAdmin(req.actor, t.owner, `task ${t.id}`);
    return { deleted: await d.tasks.delete(t.id) };
  };
