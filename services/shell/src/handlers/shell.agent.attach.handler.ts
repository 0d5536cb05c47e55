import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** A terminal of its own attached to an outside agent's tmux; its output comes as shell.agent.attach.output events. */
export const shellAgentAttachHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.attach'> =>
  async ({ sessionId, name, attachId, cols, rows }) => {
    await agents.attach(sessionId, name, attachId, cols, rows);
    return { ok: true };
  };
