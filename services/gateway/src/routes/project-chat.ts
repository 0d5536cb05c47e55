import { ProjectCiChatReplyV1, ProjectCiChatV1 } from '@codeagent/contracts';
import type { RouteDeps, ZApp } from '../app';

/** Seed 004's projects chat, forwarded to the project's CI (services/project-ci) over the bus. */
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
    async (req) => deps.services.call('project-ci.chat', req.body, req.principal, { timeoutMs: deps.env.GATEWAY_CHAT_TIMEOUT_MS }),
  );
}
