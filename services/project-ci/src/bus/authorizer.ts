import type { Bus } from '@codeagent/bus';
import type { CiAuthorizer } from '../registry/registry';

/**
 * Team mode's check of a socket client: the gateway says whose token it is (it owns users and keys),
 * then the orchestrator answers the project as that user would see it: another member's private
 * project is NOT_FOUND, exactly as over REST; a team project or an admin passes.
 */
export function busAuthorizer(bus: Bus, timeoutMs: number): CiAuthorizer {
  return {
    async authorize(token, projectId) {
      const actor = await bus.request('gateway.auth.verify', { token }, { timeoutMs });
      await bus.request('orchestrator.project.get', { projectId, actor }, { timeoutMs });
      return { userId: actor.userId };
    },
  };
}
