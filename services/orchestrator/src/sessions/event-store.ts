import type { SessionBusEventV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { EventsRepository } from './ports';

export interface EventStoreOptions {
  /** Events waiting are written at least this often... */
  flushMs: number;
  /** ...or as soon as this many wait... */
  flushBatch: number;
  /** ...or this many bytes of data (output chunks are large). */
  flushBytes: number;
}

const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * Stores the session log from the bus: the handler of `session.event` on the orchestrators' one
 * shared queue, consumed by one replica at a time (single active consumer), so events arrive in the
 * order they were published. Each event joins a batch; the handler resolves (and the bus acks) only
 * once its batch is in the database. Batches are written one after another, a failed one retried in
 * place until it is stored: the stored log of a session is always a gapless prefix of its stream
 * (retention then cuts its oldest end). A redelivered event (another replica took over, a lost ack)
 * is skipped by the repository, never stored twice. Once a batch is stored, `onStored` applies what
 * follows the log (a session is busy from its command's `command.started` to its `command.completed`):
 * on one replica, in order.
 */
export class EventStore {
  private pending: Array<{ e: SessionBusEventV1; stored: () => void }> = [];
  private pendingBytes = 0;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly repo: EventsRepository,
    private readonly opts: EventStoreOptions,
    private readonly log: Logger,
    /** Told each batch once it is stored, in log order (what follows the log: busy/idle). Its failure is logged, not retried. */
    private readonly onStored: (events: SessionBusEventV1[]) => Promise<void> = async () => undefined,
  ) {}

  /** Resolves once `e` is stored. */
  store(e: SessionBusEventV1): Promise<void> {
    return new Promise((stored) => {
      this.pending.push({ e, stored });
      this.pendingBytes += e.kind === 'output' ? e.data.data.length : 200;
      if (this.pending.length >= this.opts.flushBatch || this.pendingBytes >= this.opts.flushBytes) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
    });
  }

  /** Stops retrying; what is not stored stays unacknowledged, and the broker gives it to the next replica. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (batch.length === 0) return;
    this.writing = this.writing.then(async () => {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          const events = batch.map((b) => b.e);
          const skipped = await this.repo.append(events);
          if (skipped.length) this.log.warn({ skipped }, 'session events already stored with other content were skipped (a seq given twice)');
          await this.onStored(events).catch((err: Error) => this.log.warn({ err, events: events.length }, 'what follows the stored log was not applied'));
          for (const b of batch) b.stored();
          return;
        } catch (err) {
          const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
          this.log.error({ err, events: batch.length, delayMs: delay }, 'session events not stored; retrying');
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    });
  }
}
