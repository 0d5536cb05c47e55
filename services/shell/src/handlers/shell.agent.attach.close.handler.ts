import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** Ends an attach terminal (the client left); the agent runs on. `closed: false` when it had ended already. */
export const shellAgentAttachCloseHandler =
  ({ agents }: HandlerDeps): CommandHandler<'shell.agent.attach.close'> =>
  async ({ sessionId, attachId }) => ({ closed: await agents.attachClose(sessionId, attachId) });
