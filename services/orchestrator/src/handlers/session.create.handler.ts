import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.create`: answers once the session is ready, or with why it failed. */
export const sessionCreateHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.create'> =>
  (req, ctx) =>
    d.sessions.create(req, callerOf(req, ctx));
