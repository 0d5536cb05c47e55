import type { AppendedKindV1, SessionEventData, SessionEventV1, SessionStatusV1, ShellSessionAppendV1 } from '@codeagent/contracts';
import type { Clock, EventsPage, EventsRepository, Publisher, ShellPort } from './ports';
import type { SessionRecord } from './session';

/**
 * About how much stored data one page of `since` carries (it stops after the event that reaches it):
 * a replay of large output comes in pages that the reply, the broker and the gateway hold only
 * briefly, instead of up to `limit` events of up to 1 MiB each (the shell's SHELL_OUTPUT_CHUNK_BYTES).
 */
export const PAGE_MAX_BYTES = 1024 * 1024;

/** The states in which a session's jail is open and its stream numbers the session's log. */
const JAIL_STATES: ReadonlySet<SessionStatusV1> = new Set(['ready', 'busy', 'idle', 'closing']);

/**
 * The orchestrator's side of a session's event log. Seqs are given once, where an event is produced:
 * while the jail lives, by the jail's stream on the shell replica holding it (the orchestrator's own
 * events, status changes, agent runs, snapshots, signals, go there with `shell.session.append`, so
 * they take their place among the output); while there is no jail (being created, closed, failed) by
 * this class, which publishes `session.event` itself. Nothing here stores: the events are stored
 * from the bus by EventStore, and `since` reads what it stored.
 *
 * Handing over between the two numberers: the session's first event (`creating`) is numbered here,
 * and `shell.open` is told to start after it; `shell.close` answers the last seq the jail gave
 * (`jailClosed`), and the events after it are numbered here from there.
 */
export class EventLog {
  /** The last seq given here, per session whose events are numbered here now. */
  private readonly local = new Map<string, number>();

  constructor(
    private readonly repo: EventsRepository,
    private readonly publisher: Publisher,
    private readonly shell: Pick<ShellPort, 'append'>,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends an event to the session's log (as `s` is now: its state says who numbers it) and resolves
   * with its seq once it is published. Fails when the jail's replica cannot be reached.
   */
  async append<K extends AppendedKindV1>(s: Pick<SessionRecord, 'id' | 'status' | 'shellInstanceId' | 'lastSeq'>, kind: K, data: SessionEventData<K>): Promise<number> {
    if (s.shellInstanceId && JAIL_STATES.has(s.status) && !this.local.has(s.id)) {
      // The signature ties `data` to `kind`; TypeScript cannot carry that through the generic object.
      return this.shell.append(s.shellInstanceId, { sessionId: s.id, kind, data } as ShellSessionAppendV1);
    }
    // Numbered here after the last seq known: given here, answered by shell.close, or else the
    // highest seen (stored, or recorded on the session). The residual risk: a jail whose replica
    // died without answering may have published events that are not stored yet; one of them and
    // an event numbered here can then share a seq, and the one stored second is skipped as a
    // redelivery. Only a session failing because its shell replica vanished takes that path.
    const floor = this.local.has(s.id) ? 0 : Math.max(s.lastSeq, await this.repo.maxSeq(s.id));
    const seq = Math.max(floor, this.local.get(s.id) ?? 0) + 1;
    this.local.set(s.id, seq);
    const e = { sessionId: s.id, seq, kind, data, at: this.clock.now().toISOString() } as SessionEventV1;
    try {
      await this.publisher.publish('session.event', e);
    } catch (err) {
      // Not published (the broker is away): the seq is given back unless a later one was given
      // meanwhile, so the log has no hole where this event would have been.
      if (this.local.get(s.id) === seq) this.local.set(s.id, seq - 1);
      throw err;
    }
    return seq;
  }

  /** A session just made: it has no events yet, so its first is numbered 1 without reading the store. */
  created(sessionId: string): void {
    this.local.set(sessionId, 0);
  }

  /** The jail opened: from now on its stream numbers the session's events. */
  jailOpened(sessionId: string): void {
    this.local.delete(sessionId);
  }

  /** The jail closed, its stream's last seq `lastSeq` (undefined: not known, continue after the highest seen). */
  jailClosed(sessionId: string, lastSeq: number | undefined): void {
    if (lastSeq === undefined) this.local.delete(sessionId);
    else this.local.set(sessionId, Math.max(lastSeq, this.local.get(sessionId) ?? 0));
  }

  /** The session has ended and its last event is published: nothing more is numbered here. */
  forget(sessionId: string): void {
    this.local.delete(sessionId);
  }

  /**
   * Stored events with seq > since, at most `limit` and about PAGE_MAX_BYTES of data, in order;
   * `hasMore` when a bound cut them. Storage trails the live stream: what is not stored yet is simply
   * not returned (a reader asks again). What retention removed is announced by a `pruned` marker,
   * never a silent gap.
   */
  async since(sessionId: string, since: number, limit: number, knownLast = 0): Promise<EventsPage> {
    let page = await this.repo.since(sessionId, since, limit, PAGE_MAX_BYTES);
    // Stored in seq order, pruned oldest first: a first stored seq past since + 1 means those were
    // pruned. The marker comes first, at the last pruned seq, so a client resumes after it.
    let last = 0;
    if (page.events.length === 0) {
      last = Math.max(knownLast, await this.repo.maxSeq(sessionId));
      // A batch stored between the two reads is not pruned: read again what the second read counted
      // (without this, a replay racing the store got a false marker and skipped a live event).
      if (last > since) page = await this.repo.since(sessionId, since, limit, PAGE_MAX_BYTES);
      if (page.events.length > 0) last = 0;
    }
    const oldest = page.events[0];
    const prunedTo = oldest ? oldest.seq - 1 : last > since ? last : since;
    if (prunedTo > since) {
      const marker: SessionEventV1 = { sessionId, seq: prunedTo, kind: 'pruned', data: { from: since + 1, to: prunedTo, reason: 'retention' }, at: this.clock.now().toISOString() };
      return { events: [marker, ...page.events.slice(0, limit - 1)], hasMore: page.hasMore || page.events.length > limit - 1 };
    }
    return page;
  }

  /** Retention (the periodic job): what is older than `maxAgeMs`, or beyond a session's byte cap, goes. */
  async prune(opts: { maxAgeMs: number; maxBytesPerSession: number }): Promise<number> {
    return this.repo.prune({
      ...(opts.maxAgeMs > 0 ? { olderThan: new Date(this.clock.now().getTime() - opts.maxAgeMs) } : {}),
      maxBytesPerSession: opts.maxBytesPerSession,
    });
  }
}
