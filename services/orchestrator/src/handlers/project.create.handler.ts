import type { CommandHandler } from '@codeagent/bus';
import type { CoreDeps } from './context';

/** `orchestrator.project.create`: publishes project.created (confirmed) before answering. */
export const projectCreateHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.project.create'> =>
  (req, ctx) =>
    d.projects.create(req, req.owner ?? req.actor?.userId ?? ctx.metadata.user);
