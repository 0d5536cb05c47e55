import type { AnyEventHandler } from '@codeagent/bus';
import type { Ingestor } from '../ingest/ingestor';

/**
 * Every event of the platform (subscribeAll). Resolves when the event's batch is committed, so the
 * bus acks it only then; the consumer's prefetch must exceed the batch size or batches never fill.
 */
export function eventsHandler(ingestor: Ingestor, now: () => number = Date.now): AnyEventHandler {
  return (name, payload, ctx) => ingestor.ingest({ id: ctx.id, name, payload, user: ctx.metadata.user, receivedAt: now() });
}
