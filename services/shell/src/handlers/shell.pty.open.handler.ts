import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Opens the session's terminal, or resizes the open one; its output is logged as `output` events with stream "pty". */
export const shellPtyOpenHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.pty.open'> =>
  async (payload) => {
    await registry.openPty(payload.sessionId, payload.cols, payload.rows);
    return { ok: true };
  };
