import { AgentInterruptReplyV1, AgentRunReplyV1, AgentRunRequestV1, AgentRunV1 } from '@codeagent/contracts';
import type { RouteDeps, ZApp } from './deps';
import { assertOwner } from '../auth/access';
import { IdParams } from './schemas';

/** The orchestrator's request less what the route fills in (the session, who asks). */
const RunBody = AgentRunRequestV1.omit({ sessionId: true, user: true });

/** Agent runs (orchestrator): start one in a session, read it, stop it. Members only see their own. */
export function agentRoutes(app: ZApp, deps: RouteDeps): void {
  app.post(
    '/api/v1/sessions/:id/agent',
    { schema: { summary: "start an agent run in the session; progress arrives as the session's events", tags: ['agents'], params: IdParams, body: RunBody, response: { 202: AgentRunReplyV1 } } },
    async (req, reply) => {
      await deps.access.check(req.principal, req.params.id);
      const out = await deps.services.call('orchestrator.agent.run', { ...req.body, sessionId: req.params.id, user: req.principal.userId }, req.principal);
      return reply.code(202).send(out);
    },
  );
  app.get(
    '/api/v1/agent-runs/:id',
    { schema: { summary: 'a run: status, steps, tool calls, tokens, cost', tags: ['agents'], params: IdParams, response: { 200: AgentRunV1 } } },
    async (req) => {
      const run = await deps.services.call('orchestrator.agent.get', { runId: req.params.id }, req.principal);
      assertOwner(req.principal, run, `agent run ${req.params.id}`);
      return run;
    },
  );
  app.post(
    '/api/v1/agent-runs/:id/interrupt',
    { schema: { summary: 'stop a run', tags: ['agents'], params: IdParams, response: { 200: AgentInterruptReplyV1 } } },
    async (req) => {
      const run = await deps.services.call('orchestrator.agent.get', { runId: req.params.id }, req.principal);
      assertOwner(req.principal, run, `agent run ${req.params.id}`);
      return deps.services.call('orchestrator.agent.interrupt', { runId: req.params.id }, req.principal);
    },
  );
}
