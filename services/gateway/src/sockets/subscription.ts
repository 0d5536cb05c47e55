import { AppError, type SessionEventV1 } from '@codeagent/contracts';
import type { SessionListener } from './session-hub';
import type { SocketSink } from './sink';

/** Reads a session's stored events after `since`, one page at a time (the orchestrator's log). */
export type FetchPage = (since: number, limit: number) => Promise<{ events: SessionEventV1[]; hasMore: boolean }>;

/**
 * One socket following one session: replay from `since`, then live, with no gap and no duplicate at
 * the seam. Live events that arrive while replaying are held (bounded) and sent after the replay,
 * skipping every seq already sent. A gap in the live stream (an event lost or reordered on the way)
 * triggers a catch-up replay from the last seq sent.
 */
export class Subscription implements SessionListener {
  private lastSent: number;
  private replaying = false;
  private held: SessionEventV1[] = [];
  private stopped = false;
  /** Retries of a catch-up the log could not serve yet (the orchestrator reconnecting too). */
  private retries = 0;

  constructor(
    readonly sessionId: string,
    since: number,
    private readonly sink: SocketSink,
    private readonly fetchPage: FetchPage,
    private readonly opts: { pageSize: number; maxHeld: number; drainTimeoutMs: number; onFatal: (err: unknown) => void; /** Output as bytes. */ binary?: boolean },
    /** Seqs already sent on this socket by an /exec feed: passed over, never sent twice. */
    private readonly alreadySent: ReadonlySet<number> = new Set(),
  ) {
    this.lastSent = since;
  }

  get lastSeq(): number {
    return this.lastSent;
  }

  /** Replays from `since` (the caller has already registered this listener with the hub). */
  start(): Promise<void> {
    return this.catchUp();
  }

  /** The live path may have lost events: read the log from the last seq sent (a no-op when nothing is missing). */
  resync(): void {
    if (!this.stopped) void this.catchUp();
  }

  stop(): void {
    this.stopped = true;
    this.held = [];
  }

  onEvent(e: SessionEventV1): void {
    if (this.stopped) return;
    if (this.replaying) {
      this.held.push(e);
      if (this.held.length > this.opts.maxHeld) {
        this.sink.drop('slow_consumer', `too many live events arrived while replaying; reconnect and /subscribe with since=${this.lastSent}`, { sessionId: this.sessionId, lastSeq: this.lastSent });
        this.stop();
      }
      return;
    }
    if (e.seq <= this.lastSent) return; // duplicate (redelivery, or already replayed)
    if (e.seq > this.lastSent + 1) {
      this.held.push(e);
      void this.catchUp();
      return;
    }
    this.deliver(e);
  }

  private deliver(e: SessionEventV1): void {
    if (this.alreadySent.has(e.seq)) this.lastSent = e.seq;
    else if (this.sink.sendEvent(e, this.lastSent, this.opts.binary)) this.lastSent = e.seq;
    else this.stop();
  }

  private async catchUp(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    try {
      for (;;) {
        const before = this.lastSent;
        if (!(await this.replay())) return;
        this.retries = 0;
        const replayed = this.lastSent > before;
        // The seam: what came live during the replay, in order, without what the replay already sent.
        const held = this.held.sort((a, b) => a.seq - b.seq);
        this.held = [];
        let i = 0;
        for (; i < held.length; i++) {
          const e = held[i]!;
          if (this.stopped) return;
          if (e.seq <= this.lastSent) continue;
          // Still a gap: replay again while the log keeps filling it (else it cannot, and order wins).
          if (e.seq > this.lastSent + 1 && replayed) break;
          this.deliver(e);
        }
        if (i === held.length) return;
        this.held = held.slice(i);
      }
    } catch (err) {
      // The log's owner may be reconnecting as well (after a broker restart): try again, with a bound.
      if (AppError.from(err).retryable && this.retries < MAX_CATCH_UP_RETRIES && !this.stopped) {
        const delay = Math.min(5_000, 200 * 2 ** this.retries++);
        setTimeout(() => this.resync(), delay).unref();
        return;
      }
      this.stop();
      this.opts.onFatal(err);
    } finally {
      this.replaying = false;
    }
  }

  /** Sends the stored events after the last one sent, a page at a time; false when the socket went. */
  private async replay(): Promise<boolean> {
    for (;;) {
      if (this.stopped || this.sink.closed) return false;
      if (!(await this.sink.waitDrain(this.opts.drainTimeoutMs))) {
        this.sink.drop('slow_consumer', `replay stalled: the client did not read for ${this.opts.drainTimeoutMs} ms; reconnect and /subscribe with since=${this.lastSent}`, { sessionId: this.sessionId, lastSeq: this.lastSent });
        this.stop();
        return false;
      }
      const page = await this.fetchPage(this.lastSent, this.opts.pageSize);
      for (const e of page.events) {
        if (this.stopped) return false;
        if (e.seq > this.lastSent) this.deliver(e);
      }
      if (!page.hasMore || page.events.length === 0) return true;
    }
  }
}

/** With delays of 0.2, 0.4, ... up to 5 s: about a minute before the client is told to come back. */
const MAX_CATCH_UP_RETRIES = 16;
