import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Ends every process of the session; `closed: false` when this replica does not hold it (idempotent), else the last seq its stream gave. */
export const shellCloseHandler =
  ({ registry, stdio, agents }: HandlerDeps): CommandHandler<'shell.close'> =>
  async (payload) => {
    // Its stdio processes die with the jail anyway; closing them first keeps the bookkeeping exact.
    await stdio.closeSession(payload.sessionId);
    await agents.closeSession(payload.sessionId);
    return registry.close(payload.sessionId);
  };
