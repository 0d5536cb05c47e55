import type { CommandHandler } from '@codeagent/bus';
import type { SessionEventData } from '@codeagent/contracts';
import type { HandlerDeps } from './deps';

/** An orchestrator's event for the session's log: the jail's stream numbers it among the output. */
export const shellSessionAppendHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.session.append'> =>
  // `p` is validated as the union keyed on kind; TypeScript cannot carry the pairing into the generic call.
  async (p) => ({ seq: await registry.append(p.sessionId, p.kind, p.data as SessionEventData<typeof p.kind>) });
