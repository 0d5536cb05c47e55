import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Opens a jail for a session; idempotent on the session id. The reply names this replica. */
export const shellOpenHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.open'> =>
  async (payload) =>
    registry.open(payload);
