import type { SessionEventV1 } from '@codeagent/contracts';
import type { EventHandlers, MessageContext } from './types';

/**
 * Handlers that read a session log from the bus an event at a time: a `session.event`, and each
 * event of a `session.event.batch` batch (what the jail's stream queued together), `onEvent` called for
 * them in seq order. A batch's message is acknowledged once `onEvent` has settled for all of them
 * (awaited together: a store that resolves per stored batch must not be made to wait for each).
 */
export function sessionLogHandlers(onEvent: (e: SessionEventV1, ctx: MessageContext) => Promise<void>): Pick<EventHandlers, 'session.event' | 'session.event.batch'> {
  return {
    'session.event': onEvent,
    'session.event.batch': async (batch, ctx) => {
      await Promise.all(batch.events.map((e) => onEvent(e, ctx)));
    },
  };
}
