import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.list`: newest first; live ones unless asked otherwise; a member's own only. */
export const sessionListHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.list'> =>
  (req, ctx) =>
    d.sessions.list(req, callerOf(req, ctx));
