import { AppError, type ActorV1 } from '@codeagent/contracts';

/** A member acts only on what they own; admins and the platform's own callers (no actor) on anything. */
export function assertOwnerOrAdmin(actor: ActorV1 | undefined, owner: string | undefined, what: string): void {
  if (!actor || actor.role === 'admin') return;
  if (owner !== actor.userId) throw new AppError('FORBIDDEN', `${what} belongs to another user`);
}

/** The owner filter of a list: a member's is always their own. */
export function ownerFilter(actor: ActorV1 | undefined, asked: string | undefined): string | undefined {
  if (actor && actor.role !== 'admin') return actor.userId;
  return asked;
}
