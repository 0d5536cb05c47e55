import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.exec`: on the owning replica, which sends it to the shell replica holding the jail. */
export const sessionExecHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.exec'> =>
  (req, ctx) =>
    d.sessions.routed('orchestrator.session.exec', req, callerOf(req, ctx), (s) =>
      d.manager.exec(s, { command: req.command, commandId: req.commandId, timeoutMs: req.timeoutMs, user: req.actor?.userId ?? ctx.metadata.user }),
    );
