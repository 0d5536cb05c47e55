import type { SessionBusEventV1 } from '@codeagent/contracts';

/** Something on this replica that wants a session's live events (a subscription, an /exec stream). */
export interface SessionListener {
  /** Output may carry the bytes as the bus brought them (SessionBusEventV1). */
  onEvent(e: SessionBusEventV1): void;
  /** The live path may have lost events (the bus reconnected): read what was missed from the log. */
  resync?(): void;
}

/**
 * The replica's local fan-out: the bus delivers every `session.event` to this replica's own
 * non-durable queue, and the hub hands it to the sockets of this replica that follow the session.
 * No cross-replica adapter is needed because every replica receives every event.
 */
export class SessionHub {
  private readonly listeners = new Map<string, Set<SessionListener>>();

  add(sessionId: string, l: SessionListener): void {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(l);
  }

  remove(sessionId: string, l: SessionListener): void {
    const set = this.listeners.get(sessionId);
    if (!set) return;
    set.delete(l);
    if (set.size === 0) this.listeners.delete(sessionId);
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
