import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** An orchestrator's event for the session's log: the jail's stream numbers it among the output. */
export const shellSessionAppendHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.session.append'> =>
  async (p) => ({ seq: await registry.append(p.sessionId, p.kind, p.data as never) });
