import type { CommandHandler } from '@codeagent/bus';
import type { CoreDeps } from './context';

/** `orchestrator.task.sync`: sync a project's tasks with its TASKS.md now, both ways. */
export const taskSyncHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.task.sync'> =>
  async (req) => {
    const p = await d.projects.find(req.projectId);
    return d.tasks.sync(p.id, req.dryRun);
  };
