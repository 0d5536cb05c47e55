import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/**
 * `orchestrator.session.exec`: on whichever replica takes it, straight to the shell replica holding the
 * jail (busy/idle follow the shell's command events, on every replica alike). The gateway sends its
 * users' commands to the shell itself; this is for the platform's other callers.
 */
export const sessionExecHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.exec'> =>
  async (req, ctx) =>
    d.manager.exec(await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor), {
      command: req.command,
      commandId: req.commandId,
      timeoutMs: req.timeoutMs,
      user: req.actor?.userId ?? ctx.metadata.user,
    });
