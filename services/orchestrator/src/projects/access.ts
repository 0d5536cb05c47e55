import { AppError, type ActorV1 } from '@codeagent/contracts';
import { assertOwnerOrAdmin } from '../sessions/access';
import type { Project } from './project';

/**
 * Who sees a project: the platform's own callers (no actor) and admins every one; a member their own,
 * the team's, and those without an owner (made by the platform itself).
 */
export function canSeeProject(actor: ActorV1 | undefined, p: Pick<Project, 'owner' | 'visibility'>): boolean {
  if (!actor || actor.role === 'admin') return true;
  return !p.owner || p.owner === actor.userId || p.visibility === 'team';
}

/**
 * NOT_FOUND for a project the actor may not see, worded as for one that does not exist: a member
 * cannot tell another member's private project from no project (names stay unique platform-wide, so
 * creating one under a taken name is still a CONFLICT).
 */
export function assertProjectVisible(actor: ActorV1 | undefined, p: Project, asked: string): void {
  if (!canSeeProject(actor, p)) throw new AppError('NOT_FOUND', `no project ${asked}`, { details: { projectId: asked } });
}

/** Changing or deleting a project: its owner or an admin (a team project is seen, not changed, by the rest). */
export function assertProjectChangeable(actor: ActorV1 | undefined, p: Project, asked: string): void {
  assertProjectVisible(actor, p, asked);
  if (p.owner) assertOwnerOrAdmin(actor, p.owner, `project ${p.name}`);
}
