import { AppError, type SessionBusEventV1, type SessionEventV1 } from '@codeagent/contracts';
import type { SessionListener } from './session-hub';
import { eventBytes, type SocketSink } from './sink';

/** Reads a session's stored events after `since`, one page at a time (the orchestrator's log). */
export type FetchPage = (since: number, limit: number) => Promise<{ events: SessionEventV1[]; hasMore: boolean }>;

/**
 * One socket following one session: replay from `since`, then live, with no gap and no duplicate at
 * the seam. Live events that arrive while replaying are held (bounded) and sent after the replay,
 * skipping every seq already sent. A gap in the live stream (an event lost or reordered on the way)
 * triggers a catch-up replay from the last seq sent. The log is stored behind the live stream (by a
 * batch), so a gap it cannot fill yet is read again after a pause, a bounded number of times, while
 * what came after it stays held: an event is never sent out of order, and none is skipped.
 *
 * A client that reads slower than the command writes (a slow terminal, a busy machine) is served from
 * the log at its own pace: a live event that would overflow the socket's bound starts a catch-up,
 * which sends an event only when the socket has room. What comes live meanwhile is held up to the
 * same bound, then let go of and read from the log instead, so memory stays bounded and the client
 * is not cut off. Only a client that reads nothing for `drainTimeoutMs` is dropped (it resumes by seq).
 */
export class Subscription implements SessionListener {
  private lastSent: number;
  private replaying = false;
  private held: SessionBusEventV1[] = [];
  private heldBytes = 0;
  /** The newest live event let go of while holding was over its bound: the log serves up to it. */
  private releasedUpTo = 0;
  private stopped = false;
  /** Retries of a catch-up the log could not serve yet (the orchestrator reconnecting too). */
  private retries = 0;
  /** Reads again of a gap the log has not stored yet, and the timer of the next one. */
  private gapRetries = 0;
  private gapTimer?: NodeJS.Timeout;
  /** Reads of the log after the bus reconnected, and the timer of the next one. */
  private followUps = 0;
  private followUpTimer?: NodeJS.Timeout;
  /** An /exec on this socket waiting for its events to have gone out here (sentThrough). */
  private sentWaiters: Array<{ seq: number; resolve: () => void }> = [];

  constructor(
    readonly sessionId: string,
    private readonly since: number,
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

  /**
   * The live path lost events (the bus reconnected; this replica's queue went with the connection):
   * read the log from the last seq sent now, and a few times more over the next seconds, since what was
   * published meanwhile (a command that finished during the outage) may be stored only moments later,
   * and no live event may come to reveal the gap.
   */
  resync(): void {
    if (this.stopped) return;
    void this.catchUp();
    this.followUps = 0;
    this.followUp();
  }

  /** Resolves once every event up to `seq` has been sent on this socket, or this subscription has ended. */
  sentThrough(seq: number): Promise<void> {
    if (this.lastSent >= seq || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.sentWaiters.push({ seq, resolve }));
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.sentWaiters.splice(0)) w.resolve();
    this.held = [];
    this.heldBytes = 0;
    if (this.gapTimer) clearTimeout(this.gapTimer);
    if (this.followUpTimer) clearTimeout(this.followUpTimer);
  }

  private followUp(): void {
    if (this.followUpTimer) clearTimeout(this.followUpTimer);
    this.followUpTimer = undefined;
    if (this.stopped || this.followUps >= OUTAGE_FOLLOW_UPS_MS.length) return;
    this.followUpTimer = setTimeout(() => void this.catchUp().then(() => this.followUp()), OUTAGE_FOLLOW_UPS_MS[this.followUps++]);
    this.followUpTimer.unref();
  }

  onEvent(e: SessionBusEventV1): void {
    if (this.stopped) return;
    // Replaying, or waiting for the log to fill a gap: held, sent in order once the gap is filled.
    if (this.replaying || this.gapTimer) return this.hold(e);
    if (e.seq <= this.lastSent) return; // duplicate (redelivery, or already replayed)
    // A gap, or a client behind by more than the bound: both are caught up from the log, in order.
    if (e.seq > this.lastSent + 1 || !this.sink.fits(e)) {
      this.hold(e);
      void this.catchUp();
      return;
    }
    this.deliver(e);
  }

  private hold(e: SessionBusEventV1): void {
    this.held.push(e);
    this.heldBytes += eventBytes(e);
    if (this.held.length > this.opts.maxHeld || this.heldBytes > this.sink.maxBytes) {
      // The log has them, or will a batch later: read them from there rather than hold more.
      for (const h of this.held) this.releasedUpTo = Math.max(this.releasedUpTo, h.seq);
      this.held = [];
      this.heldBytes = 0;
    }
  }

  /** Waits for room on the socket; a client that reads nothing for drainTimeoutMs is dropped (false). */
  private async ready(): Promise<boolean> {
    if (this.stopped || this.sink.closed) return false;
    if (await this.sink.waitDrain(this.opts.drainTimeoutMs)) return !this.stopped;
    if (!this.sink.closed) {
      this.sink.drop(this.sessionId, `the client did not read for ${this.opts.drainTimeoutMs} ms`, this.since);
    }
    this.stop();
    return false;
  }

  private deliver(e: SessionBusEventV1): void {
    if (this.alreadySent.has(e.seq)) this.lastSent = e.seq;
    else if (this.sink.sendEvent(e, this.lastSent, this.opts.binary)) this.lastSent = e.seq;
    else return this.stop();
    if (this.sentWaiters.length === 0) return;
    const waiting = this.sentWaiters;
    this.sentWaiters = waiting.filter((w) => w.seq > this.lastSent);
    for (const w of waiting) if (w.seq <= this.lastSent) w.resolve();
  }

  private async catchUp(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    try {
      for (;;) {
        const before = this.lastSent;
        if (!(await this.replay())) return;
        this.retries = 0;
        // The seam: what came live during the replay, in order, without what the replay already sent,
        // up to the first gap, each when the socket has room (what comes meanwhile is held anew).
        const seam = this.held.sort((a, b) => a.seq - b.seq);
        this.held = [];
        this.heldBytes = 0;
        let i = 0;
        for (; i < seam.length; i++) {
          const e = seam[i]!;
          if (e.seq <= this.lastSent) continue;
          if (e.seq > this.lastSent + 1) break;
          if (!(await this.ready())) return;
          this.deliver(e);
        }
        for (const e of seam.slice(i)) this.hold(e);
        if (this.held.length === 0 && this.lastSent >= this.releasedUpTo) {
          this.gapRetries = 0;
          return;
        }
        // Still a gap. The log is filling it: read on at once. It is not (not stored yet): read again later.
        if (this.lastSent > before) {
          this.gapRetries = 0;
          continue;
        }
        if (this.gapRetries >= MAX_GAP_RETRIES) {
          const missing = this.lastSent + 1;
          this.stop();
          this.opts.onFatal(
            new AppError('SERVICE_UNAVAILABLE', `event ${missing} of session ${this.sessionId} is not in the log yet; /subscribe again with since=${missing - 1}`, {
              retryable: true,
              details: { sessionId: this.sessionId, lastSeq: missing - 1 },
            }),
          );
          return;
        }
        const delay = Math.min(GAP_RETRY_MAX_MS, GAP_RETRY_FIRST_MS * 2 ** this.gapRetries++);
        this.gapTimer = setTimeout(() => {
          this.gapTimer = undefined;
          void this.catchUp();
        }, delay);
        this.gapTimer.unref();
        return;
      }
    } catch (err) {
      // The log's owner may be reconnecting as well (after a broker restart): try again, with a bound.
      if (AppError.from(err).retryable && this.retries < MAX_CATCH_UP_RETRIES && !this.stopped) {
        const delay = Math.min(5_000, 200 * 2 ** this.retries++);
        setTimeout(() => void this.catchUp(), delay).unref();
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
      if (!(await this.ready())) return false;
      const page = await this.fetchPage(this.lastSent, this.opts.pageSize);
      // Each event only when the socket has room: a page is larger than the bound, and sending it at
      // once had the client dropped after its first event, every time it resumed.
      for (const e of page.events) {
        if (e.seq <= this.lastSent) continue;
        if (!(await this.ready())) return false;
        this.deliver(e);
      }
      if (!page.hasMore || page.events.length === 0) return true;
    }
  }
}

/** With delays of 0.2, 0.4, ... up to 5 s: about a minute before the client is told to come back. */
const MAX_CATCH_UP_RETRIES = 16;
/**
 * A gap the log has not stored yet is read again after 20, 40, ... up to 1000 ms: storing trails the
 * live stream by a batch (tens of ms), more under a burst; 40 reads, about half a minute, before the
 * client is told to subscribe again.
 */
const GAP_RETRY_FIRST_MS = 20;
/** After a reconnect, the log is read again after these pauses (about 15 s in all), whatever came live meanwhile. */
const OUTAGE_FOLLOW_UPS_MS = [250, 500, 1000, 2000, 4000, 8000];
const GAP_RETRY_MAX_MS = 1000;
const MAX_GAP_RETRIES = 40;
