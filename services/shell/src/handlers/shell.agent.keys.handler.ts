import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** tmux send-keys to an outside agent's pane. */
export const shellAgentKeysHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.keys'> =>
  async ({ sessionId, name, keys, enter }) => {
    await agents.keys(sessionId, name, keys, enter);
    return { ok: true };
  };
