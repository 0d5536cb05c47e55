import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** The last lines of an outside agent's pane (tmux capture-pane). */
export const shellAgentScreenHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.screen'> =>
  async ({ sessionId, name, lines }) => ({ name, lines, text: await agents.screen(sessionId, name, lines) });
