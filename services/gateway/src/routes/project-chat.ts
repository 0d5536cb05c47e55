import { ProjectCiChatReplyV1, ProjectCiChatV1 } from '@codeagent/contracts';
import type { RouteDeps, ZApp } from '../app';
import { isAdmin } from '../auth/principal';
import { visibleProjectId } from '../auth/project-access';

/**
 * Seed 004's projects chat, forwarded to the project's CI (services/project-ci) over the bus. A member
 * talks only to the CI of a project they may see: the orchestrator answers NOT_FOUND (404) for another
 * member's private project, exactly as for a name no project has.
 */
export function projectChatRoutes(app: ZApp, deps: RouteDeps): void {
  app.post(
    '/api/projects/chat',
    {
      schema: {
        summary: "one message to a project's CI: the model sees `[Project: <name>] <message>`",
        tags: ['projects'],
        body: ProjectCiChatV1,
        response: { 200: ProjectCiChatReplyV1 },
      },
    },
    // project-ci itself waits up to its PROJECT_CI_LLM_TIMEOUT_MS for the model.
    async (req) => {
      // project-ci matches names case-insensitively: a member's message goes to the id that was checked.
      const body = isAdmin(req.principal) ? req.body : { ...req.body, project_name: await visibleProjectId(deps.services, req.principal, req.body.project_name) };
      return deps.services.call('project-ci.chat', body, req.principal, { timeoutMs: deps.env.GATEWAY_CHAT_TIMEOUT_MS });
    },
  );
}
