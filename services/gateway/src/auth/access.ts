import { AppError } from '@codeagent/contracts';
import type { ServiceClient } from '../http/bus-call';
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
 * check. A session's owner never changes, so it is cached (bounded) to keep exec and subscribe cheap.
 */
export class SessionAccess {
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly services: ServiceClient,
    private readonly maxCached = 10_000,
  ) {}

  /** Resolves when `who` may act on the session; FORBIDDEN, NOT_FOUND or the service's error otherwise. */
  async check(who: Principal, sessionId: string): Promise<void> {
    if (isAdmin(who)) return;
    let owner = this.owners.get(sessionId);
    if (owner === undefined) {
      // Asked without the actor: the gateway decides, whatever the service would have said.
      const session = await this.services.call('orchestrator.session.get', { sessionId }, who);
      owner = session.owner;
      this.remember(sessionId, owner);
    }
    if (owner !== who.userId) throw forbidden(`session ${sessionId}`);
  }

  remember(sessionId: string, owner: string): void {
    if (this.owners.size >= this.maxCached) {
      const oldest = this.owners.keys().next().value;
      if (oldest !== undefined) this.owners.delete(oldest);
    }
    this.owners.set(sessionId, owner);
  }

  forget(sessionId: string): void {
    this.owners.delete(sessionId);
  }
}
