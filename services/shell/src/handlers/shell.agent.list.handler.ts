import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** The session's outside agents, running or ended. */
export const shellAgentListHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.list'> =>
  async ({ sessionId }) => ({ agents: agents.list(sessionId) });
