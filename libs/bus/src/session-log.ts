import { isUtf8 } from 'node:buffer';
import type { SessionBusEventV1, SessionBusOutputDataV1 } from '@codeagent/contracts';
import type { EventHandlers, MessageContext } from './types';

/**
 * Handlers that read a session log from the bus an event at a time: a `session.event`, and each
 * event of a `session.event.batch` batch (what the jail's stream queued together), `onEvent` called for
 * them in seq order. A batch's message is acknowledged once `onEvent` has settled for all of them
 * (awaited together: a store that resolves per stored batch must not be made to wait for each).
 */
export function sessionLogHandlers(onEvent: (e: SessionBusEventV1, ctx: MessageContext) => Promise<void>): Pick<EventHandlers, 'session.event' | 'session.event.batch'> {
  return {
    'session.event': onEvent,
    'session.event.batch': async (batch, ctx) => {
      await Promise.all(batch.events.map((e) => onEvent(e, ctx)));
    },
  };
}

/** An output event's bytes, whichever form it carries them in. */
export function outputBytes(d: SessionBusOutputDataV1): Buffer {
  if (typeof d.data !== 'string') return Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
  return Buffer.from(d.data, d.encoding === 'base64' ? 'base64' : 'utf8');
}

/** An output event's data as stored and sent to text readers: UTF-8 text, or base64 for bytes that are not UTF-8. */
export function outputText<D extends SessionBusOutputDataV1>(d: D): Omit<D, 'data' | 'encoding'> & { data: string; encoding?: 'base64' } {
  if (typeof d.data === 'string') return d as Omit<D, 'data' | 'encoding'> & { data: string; encoding?: 'base64' };
  const { data: bytes, encoding: _bytes, ...rest } = d;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return isUtf8(buf) ? { ...rest, data: buf.toString('utf8') } : { ...rest, data: buf.toString('base64'), encoding: 'base64' };
}
