import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Keystrokes to an attach terminal (or its new size); typing counts as the session's terminal activity. */
export const shellAgentAttachInputHandler =
  ({ agents, activity }: HandlerDeps): CommandHandler<'shell.agent.attach.input'> =>
  async ({ sessionId, attachId, data, cols, rows }) => {
    agents.attachInput(sessionId, attachId, data, { cols, rows });
    if (data) activity.typed(sessionId);
    return { ok: true };
  };
