import { AppError, type SessionBusEventV1, type SessionStatusV1, type SessionV1 } from '@codeagent/contracts';
import type { Principal } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';

/** What the gateway needs to authorise and route a session's commands without asking anyone. */
export interface Placement {
  sessionId: string;
  owner: string;
  status: SessionStatusV1;
  /** The shell replica holding the jail (absent until the session is ready). */
  shellInstanceId?: string;
}

interface Entry extends Placement {
  /** When it was read from the orchestrator (ms): past the TTL it is read again. */
  readAt: number;
}

/**
 * Sessions' placements, cached at the edge: filled from `orchestrator.session.get` on first use (or
 * by the route that created the session), kept current by the `status` events of the sessions this
 * replica's clients follow and by every session's `session.closed` / `session.failed`, read again
 * after `ttlMs` as a backstop for an event the live path lost, and dropped when the shell says the
 * jail is not where the cache said (SessionCommands). Bounded: the oldest entry goes first.
 *
 * A stale entry is still served while it is read again in the background: a session left alone past
 * the TTL (most of an agent's) costs its next command no round trip to the orchestrator. Serving it is
 * safe: the owner never changes, and a command the cache sends to the wrong shell, or to a session
 * that ended meanwhile, is refused there and sent again after a fresh read.
 */
export class SessionPlacements {
  private readonly entries = new Map<string, Entry>();
  /** Background reads of stale entries, one per session at a time. */
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly services: ServiceClient,
    private readonly opts: { ttlMs: number; maxEntries: number; now?: () => number },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The session's placement, read when absent or stale (NOT_FOUND or the service's error otherwise). */
  async get(sessionId: string, who: Principal): Promise<Placement> {
    const e = this.entries.get(sessionId);
    if (!e) return this.remember(await this.read(sessionId, who));
    if (this.now() - e.readAt >= this.opts.ttlMs) this.refresh(sessionId, who);
    return e;
  }

  // Asked without the actor: the gateway decides access, whatever the service would have said.
  private read(sessionId: string, who: Principal) {
    return this.services.call('orchestrator.session.get', { sessionId }, who);
  }

  /** Reads a stale entry again; a session that is gone is forgotten, any other failure keeps it for the next try. */
  private refresh(sessionId: string, who: Principal): void {
    if (this.refreshing.has(sessionId)) return;
    this.refreshing.add(sessionId);
    void this.read(sessionId, who)
      .then(
        (s) => void (this.entries.has(sessionId) && this.remember(s)),
        (err: unknown) => void (err instanceof AppError && err.code === 'NOT_FOUND' && this.forget(sessionId)),
      )
      .finally(() => this.refreshing.delete(sessionId));
  }

  /** Stores what a route just read or made (a created session is placed before its first command). */
  remember(s: Pick<SessionV1, 'id' | 'owner' | 'status' | 'shellInstanceId'>): Placement {
    this.entries.delete(s.id);
    if (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const entry: Entry = { sessionId: s.id, owner: s.owner, status: s.status, ...(s.shellInstanceId ? { shellInstanceId: s.shellInstanceId } : {}), readAt: this.now() };
    this.entries.set(s.id, entry);
    return entry;
  }

  /** A live session event: a status change updates the cached state (closed and failed included, so commands get 409 at once). */
  observe(e: SessionBusEventV1): void {
    if (e.kind !== 'status') return;
    const entry = this.entries.get(e.sessionId);
    if (entry) entry.status = e.data.to;
  }

  /** The session ended (the orchestrator's session.closed or session.failed, heard for every session). */
  ended(sessionId: string, status: 'closed' | 'failed'): void {
    const entry = this.entries.get(sessionId);
    if (entry) entry.status = status;
  }

  forget(sessionId: string): void {
    this.entries.delete(sessionId);
  }

  /** Every entry is read again on next use (the live events were lost: the bus reconnected). */
  forgetAll(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
