import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** An outside agent's supervisor state. */
export const shellAgentStatusHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.status'> =>
  async ({ sessionId, name }) =>
    agents.status(sessionId, name);
