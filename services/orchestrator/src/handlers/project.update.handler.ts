import type { CommandHandler } from '@codeagent/bus';
import { assertProjectChangeable } from '../projects/access';
import type { CoreDeps } from './context';

/** `orchestrator.project.update`: a member may change only the projects they created (NOT_FOUND for those they cannot see). */
export const projectUpdateHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.project.update'> =>
  async (req) => {
    const p = await d.projects.find(req.projectId);
    assertProjectChangeable(req.actor, p, req.projectId);
    return d.projects.update({ ...req, projectId: p.id });
  };
