import type { CommandHandler } from '@codeagent/bus';
import type { CoreDeps } from './context';
import { offsetOf } from '../paging';

/** `orchestrator.project.list`: by index; a member sees their own projects and the team's, an admin all. */
export const projectListHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.project.list'> =>
  async (req) => {
    const all = await d.projects.list(req.actor);
    const offset = offsetOf(req.cursor);
    const page = all.slice(offset, offset + req.limit);
    return { projects: page, ...(offset + req.limit < all.length ? { nextCursor: String(offset + req.limit) } : {}) };
  };
