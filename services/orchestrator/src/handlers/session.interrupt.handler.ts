import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.interrupt`: on whichever replica takes it, straight to the jail's shell replica. */
export const sessionInterruptHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.interrupt'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    return { interrupted: await d.manager.interrupt(s.id) };
  };
