import { AppError } from '@codeagent/contracts';
import { Batcher } from './batcher';
import { toFacts, type Facts, type IncomingEvent } from './facts';
import type { IngestStore } from './ports';
import type { Writes } from './rollup';

export interface IngestorOptions {
  /** Events per transaction at most. */
  batchSize: number;
  /** How long the first event of a batch waits for others. */
  batchWaitMs: number;
  /** Called after each commit with what it wrote (for the Prometheus counters). */
  onCommitted?: (writes: Writes, freshEvents: number, batchEvents: number) => void;
}

/**
 * Turns events into facts and writes them in batches: `ingest` resolves once the event's batch is
 * committed, so the bus acks only committed events. A batch that fails is retried event by event, so
 * one event the database refuses cannot take the others of its batch down with it.
 */
export class Ingestor {
  private readonly batcher: Batcher<Facts>;

  constructor(
    private readonly store: IngestStore,
    private readonly opts: IngestorOptions,
  ) {
    this.batcher = new Batcher((facts) => this.flush(facts), { maxItems: opts.batchSize, maxWaitMs: opts.batchWaitMs });
  }

  /** Rejects with VALIDATION_FAILED (no retry: the bus dead-letters it) for an event analytics cannot key. */
  async ingest(e: IncomingEvent): Promise<void> {
    return this.batcher.add(toFacts(e));
  }

  /** Commits everything accepted so far. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async flush(facts: Facts[]): Promise<readonly unknown[] | void> {
    try {
      await this.commit(facts);
    } catch (err) {
      if (facts.length === 1) return [wrap(err)];
      const errors: unknown[] = [];
      for (const f of facts) errors.push(await this.commit([f]).then(() => undefined, wrap));
      return errors;
    }
  }

  private async commit(facts: Facts[]): Promise<void> {
    // The same event twice in one batch (a quick republish) is recorded once; both deliveries ack.
    const byId = new Map<string, Facts>();
    for (const f of facts) if (!byId.has(f.eventId)) byId.set(f.eventId, f);
    const { fresh, writes } = await this.store.commit([...byId.values()]);
    this.opts.onCommitted?.(writes, fresh.size, facts.length);
  }
}

/** Database trouble is worth retrying (the bus retries with back-off, then dead-letters). */
function wrap(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('SERVICE_UNAVAILABLE', `could not record the event: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}
