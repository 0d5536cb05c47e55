import type { CommandHandler } from '@codeagent/bus';
import type { CoreDeps } from './context';

/** `orchestrator.project.get`: by id or by name; NOT_FOUND for a project the actor may not see. */
export const projectGetHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.project.get'> =>
  (req) =>
    d.projects.get(req.projectId, req.actor);
