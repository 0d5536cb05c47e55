import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** One JSON-RPC line to the process; the reply carries what it wrote back (up to the awaited id). */
export const shellStdioSendHandler =
  ({ stdio }: HandlerDeps): CommandHandler<'shell.stdio.send'> =>
  async (p) =>
    stdio.send(p.sessionId, p.name, p.message, p.waitForId, p.timeoutMs);
