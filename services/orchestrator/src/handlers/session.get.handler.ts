import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.get`. */
export const sessionGetHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.get'> =>
  (req, ctx) =>
    d.sessions.get(req.sessionId, callerOf(req, ctx));
