import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Starts a named process with pipes in the session's jail (a stdio MCP server), or answers the running one. */
export const shellStdioOpenHandler =
  ({ registry, stdio }: HandlerDeps): CommandHandler<'shell.stdio.open'> =>
  async (p) =>
    stdio.open(p.sessionId, registry.sandboxOf(p.sessionId), p.name, p.command, p.env);
