import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Ends every process of the session; `closed: false` when this replica does not hold it (idempotent). */
export const shellCloseHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.close'> =>
  async (payload) => ({ closed: await registry.close(payload.sessionId) });
