import type { ServiceClient } from '../http/bus-call';
import { actorOf } from './actor';
import { isAdmin, type Principal } from './principal';

/**
 * Resolves when `who` may see the project (id or name): the orchestrator decides from the actor and
 * answers NOT_FOUND (404 here) for another member's private project, as for none. For the routes and
 * socket commands whose own message carries no actor (providers, agent roles, project chat). Resolves
 * to the project's id, so what follows acts on the very project that was checked.
 */
export async function visibleProjectId(services: ServiceClient, who: Principal, projectId: string): Promise<string> {
  if (isAdmin(who)) return projectId;
  const p = await services.call('orchestrator.project.get', { projectId, actor: actorOf(who) }, who);
  return p.id;
}
