import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Resizes the session's terminal. */
export const shellPtyResizeHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.pty.resize'> =>
  async (payload) => {
    registry.ptyResize(payload.sessionId, payload.cols, payload.rows);
    return { ok: true };
  };
