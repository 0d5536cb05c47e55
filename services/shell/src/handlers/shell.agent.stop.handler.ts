import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Stops an outside agent's supervisor and ends it; `stopped: false` when it had already ended. */
export const shellAgentStopHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.stop'> =>
  async ({ sessionId, name }) => ({ name, stopped: await agents.stop(sessionId, name) });
