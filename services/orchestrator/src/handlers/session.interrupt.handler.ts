import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.interrupt`. */
export const sessionInterruptHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.interrupt'> =>
  (req, ctx) =>
    d.sessions.routed('orchestrator.session.interrupt', req, callerOf(req, ctx), async (s) => ({ interrupted: await d.manager.interrupt(s.id) }));
