import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Interrupts the running command (SIGINT, then SIGKILL after a grace); false when none was running. */
export const shellInterruptHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.interrupt'> =>
  async (payload) => ({ interrupted: await registry.interrupt(payload.sessionId) });
