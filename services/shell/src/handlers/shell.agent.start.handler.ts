import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Starts an outside agent in the session's jail, in its own tmux session, under a supervisor. */
export const shellAgentStartHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.start'> =>
  ({ sessionId, ...spec }) =>
    agents.start(sessionId, spec);
