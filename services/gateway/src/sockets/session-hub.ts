import type { EventSubscription } from '@codeagent/bus';
import type { SessionBusEventV1 } from '@codeagent/contracts';

/** Something on this replica that wants a session's live events (a subscription, an /exec stream). */
export interface SessionListener {
  /** Output may carry the bytes as the bus brought them (SessionBusEventV1). */
  onEvent(e: SessionBusEventV1): void;
  /** The live path may have lost events (the bus reconnected): read what was missed from the log. */
  resync?(): void;
}

/** How long a session nobody follows here any more stays bound: an /exec after an /exec binds once. */
const UNFOLLOW_AFTER_MS = 60_000;

/**
 * The replica's local fan-out: the bus delivers the events of the sessions this replica follows to
 * its own non-durable queue (bound per session while someone here follows it, and a minute after),
 * and the hub hands each to the sockets, SSH logins and /exec waits of this replica that follow the
 * session. Every replica follows what its own clients follow, so no cross-replica adapter is needed,
 * and no replica receives the logs nobody on it reads.
 */
export class SessionHub {
  private readonly listeners = new Map<string, Set<SessionListener>>();
  /** The live queue's subscription: follow binds a session's events to it, unfollow lets them go. */
  private live?: EventSubscription;
  /** Sessions bound on the live queue (or being bound): resolves once the broker has the binding. */
  private readonly followed = new Map<string, Promise<void>>();
  private readonly unfollowTimers = new Map<string, NodeJS.Timeout>();

  /** The bus's side, once this replica consumes its live queue: the sessions followed so far are bound then. */
  attach(live: EventSubscription): Promise<void> {
    this.live = live;
    return Promise.all([...this.listeners.keys()].map((id) => this.follow(id))).then(() => undefined);
  }

  /** Adds a listener; resolves once the session's events published from now on reach it. */
  add(sessionId: string, l: SessionListener): Promise<void> {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(l);
    return this.follow(sessionId);
  }

  remove(sessionId: string, l: SessionListener): void {
    const set = this.listeners.get(sessionId);
    if (!set) return;
    set.delete(l);
    if (set.size > 0) return;
    this.listeners.delete(sessionId);
    if (!this.followed.has(sessionId) || this.unfollowTimers.has(sessionId)) return;
    const timer = setTimeout(() => {
      this.unfollowTimers.delete(sessionId);
      if (this.listeners.has(sessionId)) return;
      this.followed.delete(sessionId);
      void this.live?.unfollow(sessionId);
    }, UNFOLLOW_AFTER_MS);
    timer.unref();
    this.unfollowTimers.set(sessionId, timer);
  }

  private follow(sessionId: string): Promise<void> {
    const timer = this.unfollowTimers.get(sessionId);
    if (timer) {
      clearTimeout(timer);
      this.unfollowTimers.delete(sessionId);
    }
    if (!this.live) return Promise.resolve();
    let bound = this.followed.get(sessionId);
    if (!bound) this.followed.set(sessionId, (bound = this.live.follow(sessionId)));
    return bound;
  }

  dispatch(e: SessionBusEventV1): void {
    const set = this.listeners.get(e.sessionId);
    if (!set) return;
    for (const l of [...set]) l.onEvent(e);
  }

  /**
   * After the bus reconnected: this replica's queue was lost with the connection, and every event
   * published meanwhile with it. Each listener catches up from the durable log (a command that
   * finished during the outage has its output and exit delivered then, once, in order).
   */
  resyncAll(): number {
    let n = 0;
    for (const set of this.listeners.values()) {
      for (const l of set) {
        if (!l.resync) continue;
        l.resync();
        n++;
      }
    }
    return n;
  }

  /** How many listeners follow a session on this replica. */
  listenersOf(sessionId: string): number {
    return this.listeners.get(sessionId)?.size ?? 0;
  }

  get sessions(): number {
    return this.listeners.size;
  }
}
