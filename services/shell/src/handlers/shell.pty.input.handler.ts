import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import type { HandlerDeps } from './deps';

/** Keystrokes to the session's terminal, opened first when none is (as shell.pty.open without a size). */
export const shellPtyInputHandler =
  ({ registry, activity }: HandlerDeps): CommandHandler<'shell.pty.input'> =>
  async (payload) => {
    try {
      // Written at once when the terminal is open, so keystrokes keep the order they came in.
      registry.ptyInput(payload.sessionId, payload.data);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'INVALID_STATE')) throw err;
      await registry.openPty(payload.sessionId);
      registry.ptyInput(payload.sessionId, payload.data);
    }
    activity.typed(payload.sessionId);
    return { ok: true };
  };
