import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.fork`: a new session on a copy of a snapshot or of the live workspace. */
export const sessionForkHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.fork'> =>
  (req, ctx) =>
    d.sessions.fork(req, callerOf(req, ctx));
