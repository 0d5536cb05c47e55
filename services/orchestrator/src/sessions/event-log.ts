import type { SessionEventData, SessionEventKindV1, SessionEventV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { SeqTaken, type Clock, type EventsRepository, type Publisher } from './ports';

interface OpenLog {
  /** The next seq to assign. Only the owning replica assigns, so seqs never collide. */
  next: number;
  /** The highest seq stored in the database: only events up to it are served or published. */
  durable: number;
  /** The most recent events, oldest first, at most `ringSize`: live replay without the database. */
  ring: SessionEventV1[];
}

export interface EventLogOptions {
  ringSize: number;
  /** Unflushed events are written at least this often... */
  flushMs: number;
  /** ...or as soon as this many are waiting. */
  flushBatch: number;
}

/**
 * The session event log of the sessions this replica owns. `append` assigns the next seq at once
 * (synchronously, so the order of calls is the order of seqs), keeps the event in a bounded ring and
 * queues it for the database, written in batches. Only once a batch is stored are its events
 * published as `session.event` (in seq order: one channel, one flush at a time) and served by
 * `since`: a client never sees a seq that a crash could take back and a later owner give to another
 * event. `since` flushes first, then answers from the ring when it covers the range, else from the
 * database: either way gapless and in order.
 */
export class EventLog {
  private readonly logs = new Map<string, OpenLog>();
  private pending: SessionEventV1[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Callers waiting for a command's `command.completed`, by session and command id. */
  private readonly completions = new Map<string, () => void>();

  constructor(
    private readonly repo: EventsRepository,
    private readonly publisher: Publisher,
    private readonly opts: EventLogOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Starts assigning seqs for a session after `lastSeq` (0 for a new one; the stored max when adopting). */
  async open(sessionId: string, lastSeq?: number): Promise<void> {
    if (this.logs.has(sessionId)) return;
    const stored = lastSeq ?? (await this.repo.maxSeq(sessionId));
    if (this.logs.has(sessionId)) return; // opened by a concurrent caller meanwhile
    this.logs.set(sessionId, { next: stored + 1, durable: stored, ring: [] });
  }

  isOpen(sessionId: string): boolean {
    return this.logs.has(sessionId);
  }

  /** The last stored seq (undefined when this replica does not hold the log). */
  lastSeq(sessionId: string): number | undefined {
    return this.logs.get(sessionId)?.durable;
  }

  append<K extends SessionEventKindV1>(sessionId: string, kind: K, data: SessionEventData<K>): SessionEventV1 | undefined {
    const l = this.logs.get(sessionId);
    if (!l) return undefined;
    // The signature ties `data` to `kind`; TypeScript cannot carry that through the generic object.
    const e = { sessionId, seq: l.next++, kind, data, at: this.clock.now().toISOString() } as SessionEventV1;
    l.ring.push(e);
    if (l.ring.length > this.opts.ringSize) l.ring.splice(0, l.ring.length - this.opts.ringSize);
    this.pending.push(e);
    if (e.kind === 'command.completed') this.completions.get(completionKey(sessionId, e.data.commandId))?.();
    if (this.pending.length >= this.opts.flushBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs);
    return e;
  }

  /**
   * Watches for the `command.completed` of `commandId` in this session's log. Ask before the command
   * starts (its event may come before its reply); `within(ms)`, asked once the reply is in, resolves
   * true as soon as the event is (or was) appended, false after `ms` without it.
   */
  completion(sessionId: string, commandId: string): { within: (ms: number) => Promise<boolean>; cancel: () => void } {
    const key = completionKey(sessionId, commandId);
    let seen = false;
    let wake = () => {};
    const onAppended = () => {
      seen = true;
      wake();
    };
    // Only our own entry: a second exec given the same command id may have replaced it.
    const forget = () => {
      if (this.completions.get(key) === onAppended) this.completions.delete(key);
    };
    this.completions.set(key, onAppended);
    const within = (ms: number) =>
      new Promise<boolean>((resolve) => {
        if (seen) return resolve(true);
        const timer = setTimeout(() => resolve(false), ms);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      }).finally(forget);
    return { within, cancel: forget };
  }

  /** Events with seq > since, at most `limit`, in order; `hasMore` when the limit cut them. */
  async since(sessionId: string, since: number, limit: number, knownLast = 0): Promise<{ events: SessionEventV1[]; hasMore: boolean }> {
    await this.flush();
    const l = this.logs.get(sessionId);
    const first = l?.ring[0];
    if (l && (l.durable <= since || (first && first.seq <= since + 1))) {
      const from = l.ring.filter((e) => e.seq > since && e.seq <= l.durable);
      return { events: from.slice(0, limit), hasMore: from.length > limit };
    }
    const rows = await this.repo.since(sessionId, since, limit + 1);
    // The log is gapless but for retention: a first stored seq past since + 1 means those were pruned.
    // Say so with a marker first (at the last pruned seq, so a client resumes after it), never a silent gap.
    const oldest = rows[0];
    const last = Math.max(knownLast, l?.durable ?? (await this.repo.maxSeq(sessionId)));
    const prunedTo = oldest ? oldest.seq - 1 : last > since && rows.length === 0 ? last : since;
    if (prunedTo > since) {
      const marker: SessionEventV1 = { sessionId, seq: prunedTo, kind: 'pruned', data: { from: since + 1, to: prunedTo, reason: 'retention' }, at: this.clock.now().toISOString() };
      return { events: [marker, ...rows.slice(0, limit - 1)], hasMore: rows.length > limit - 1 };
    }
    return { events: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Retention (the periodic job): what is older than `maxAgeMs`, or beyond a session's byte cap, goes. */
  async prune(opts: { maxAgeMs: number; maxBytesPerSession: number }): Promise<number> {
    await this.flush();
    return this.repo.prune({
      ...(opts.maxAgeMs > 0 ? { olderThan: new Date(this.clock.now().getTime() - opts.maxAgeMs) } : {}),
      maxBytesPerSession: opts.maxBytesPerSession,
    });
  }

  /** Writes what is waiting; concurrent calls queue behind each other so batches stay in order. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      if (this.pending.length === 0) return;
      const batch = this.pending;
      this.pending = [];
      try {
        await this.repo.append(batch);
      } catch (err) {
        if (err instanceof SeqTaken) {
          // Another replica wrote these seqs: it adopted the session (it thought this one gone).
          // Ours lose; the log is given up so this replica stops writing into the other's.
          for (const id of err.sessionIds) this.logs.delete(id);
          const lost = new Set(err.sessionIds);
          this.log.error({ sessions: err.sessionIds }, 'session events not stored: another replica owns these sessions now');
          this.pending = batch.filter((e) => !lost.has(e.sessionId)).concat(this.pending);
          this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs);
          return;
        }
        // Keep them for the next try, in front of anything appended meanwhile.
        this.pending = batch.concat(this.pending);
        this.log.error({ err, events: batch.length }, 'session events not stored; will retry');
        this.timer ??= setTimeout(() => void this.flush(), Math.max(this.opts.flushMs, 1000));
        return;
      }
      for (const e of batch) {
        const l = this.logs.get(e.sessionId);
        if (l && e.seq > l.durable) l.durable = e.seq;
        this.publisher.publish('session.event', e).catch((err: Error) => this.log.warn({ err, sessionId: e.sessionId, seq: e.seq }, 'session.event not published; clients will get it on replay'));
      }
    });
    return this.flushing;
  }

  /** Flushes and forgets a session's log (it ended, or another replica took it over). */
  async release(sessionId: string): Promise<void> {
    await this.flush();
    this.logs.delete(sessionId);
  }

  /** Flushes everything (shutdown). */
  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
  }
}

function completionKey(sessionId: string, commandId: unknown): string {
  return `${sessionId}\n${String(commandId)}`;
}
