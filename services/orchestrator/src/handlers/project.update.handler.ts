import type { CommandHandler } from '@codeagent/bus';
import { assertOwnerOrAdmin } from '../sessions/access';
import type { CoreDeps } from './context';

/** `orchestrator.project.update`: a member may change only the projects they created. */
export const projectUpdateHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.project.update'> =>
  async (req) => {
    const p = await d.projects.find(req.projectId);
    if (p.owner) assertOwnerOrAdmin(req.actor, p.owner, `project ${p.name}`);
    return d.projects.update({ ...req, projectId: p.id });
  };
