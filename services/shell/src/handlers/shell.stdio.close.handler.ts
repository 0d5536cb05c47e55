import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Ends the named process; `closed: false` when there was none. */
export const shellStdioCloseHandler =
  ({ stdio }: HandlerDeps): CommandHandler<'shell.stdio.close'> =>
  async (p) => ({ closed: await stdio.close(p.sessionId, p.name) });
