import { AppError, type SessionV1 } from '@codeagent/contracts';
import type { Placement, SessionPlacements } from '../sessions/placement';
import { isAdmin, type Principal } from './principal';

/** The owner field of a record the orchestrator returns (sessions, runs, tasks). */
export function ownerOf(record: unknown): string | undefined {
  const r = record as { owner?: unknown; user?: unknown; userId?: unknown } | undefined;
  const v = r?.owner ?? r?.user ?? r?.userId;
  return typeof v === 'string' ? v : undefined;
}

export function forbidden(what: string): AppError {
  return new AppError('FORBIDDEN', `${what} belongs to another user`);
}

/** Members touch only what they own; admins everything. Throws FORBIDDEN with the reason. */
export function assertOwner(who: Principal, record: unknown, what: string): void {
  if (isAdmin(who)) return;
  if (ownerOf(record) !== who.userId) throw forbidden(what);
}

/**
 * The gateway's own authorization of session access: it does not rely on the services behind it to
 * check. A session's owner never changes; it is read with the session's placement (cached, see
 * SessionPlacements), so a command is authorised here once, without a service call.
 */
export class SessionAccess {
  constructor(readonly placements: SessionPlacements) {}

  /** The session's placement when `who` may act on it; FORBIDDEN, NOT_FOUND or the service's error otherwise. */
  async check(who: Principal, sessionId: string): Promise<Placement> {
    const placement = await this.placements.get(sessionId, who);
    if (!isAdmin(who) && placement.owner !== who.userId) throw forbidden(`session ${sessionId}`);
    return placement;
  }

  /** A session a route just read or made. */
  remember(session: Pick<SessionV1, 'id' | 'owner' | 'status' | 'shellInstanceId'>): void {
    this.placements.remember(session);
  }
}
