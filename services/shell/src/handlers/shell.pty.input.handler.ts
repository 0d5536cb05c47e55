import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Keystrokes to the session's terminal. */
export const shellPtyInputHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.pty.input'> =>
  async (payload) => {
    registry.ptyInput(payload.sessionId, payload.data);
    return { ok: true };
  };
