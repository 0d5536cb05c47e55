import type { CommandHandler } from '@codeagent/bus';
import { canSeeProject, assertProjectChangeable } from '../projects/access';
import type { CoreDeps } from './context';

/**
 * `orchestrator.project.delete`: publishes project.deleted; the index becomes free. The project's open
 * sessions are closed first (each on the replica that owns it), so none is left on a project that is gone.
 */
export const projectDeleteHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.project.delete'> =>
  async (req, ctx) => {
    const p = await d.projects.find(req.projectId).catch(() => undefined);
    // One the actor may not see is, to them, no project.
    if (!p || !canSeeProject(req.actor, p)) return { deleted: false };
    assertProjectChangeable(req.actor, p, req.projectId);
    const { sessions } = await d.sessions.list({ projectId: p.id, status: ['ready', 'busy', 'idle', 'closing'], limit: 1000 }, {});
    for (const s of sessions) {
      await d.sessions.routed('orchestrator.session.close', { sessionId: s.id }, { user: ctx.metadata.user }, async (live) =>
        d.sessions.view(await d.manager.close(live.id, `its project ${p.name} was deleted`)),
      );
    }
    return d.projects.delete(p.id);
  };
