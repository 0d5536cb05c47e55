import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.close`: on the owning replica. */
export const sessionCloseHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.close'> =>
  (req, ctx) =>
    d.sessions.routed('orchestrator.session.close', req, callerOf(req, ctx), async (s) =>
      d.sessions.view(await d.manager.close(s.id, req.actor ? `closed by ${req.actor.userId}` : 'closed', req.workspacePolicy)),
    );
