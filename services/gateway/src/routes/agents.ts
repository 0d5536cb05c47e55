import { AgentInterruptReplyV1, AgentRoleV1, AgentRunV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { assertOwner } from '../auth/access';

const SessionParams = z.object({ id: z.string().min(1).max(200) });
const RunParams = z.object({ id: z.string().min(1).max(200) });
const RunBody = z.object({
  prompt: z.string().min(1).max(200_000),
  roles: z.array(AgentRoleV1).min(1).max(5).optional(),
  maxSteps: z.number().int().min(1).max(1000).optional(),
  budgetUsd: z.number().positive().max(10_000).optional(),
  timeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
});

/** Agent runs (orchestrator): start one in a session, read it, stop it. Members only see their own. */
export function agentRoutes(app: ZApp, deps: RouteDeps): void {
  app.post(
    '/api/v1/sessions/:id/agent',
    { schema: { summary: "start an agent run in the session; progress arrives as the session's events", tags: ['agents'], params: SessionParams, body: RunBody, response: { 202: z.object({ runId: z.string() }) } } },
    async (req, reply) => {
      await deps.access.check(req.principal, req.params.id);
      const out = await deps.services.call('orchestrator.agent.run', { ...req.body, sessionId: req.params.id, user: req.principal.userId }, req.principal);
      return reply.code(202).send(out);
    },
  );
  app.get(
    '/api/v1/agent-runs/:id',
    { schema: { summary: 'a run: status, steps, tool calls, tokens, cost', tags: ['agents'], params: RunParams, response: { 200: AgentRunV1 } } },
    async (req) => {
      const run = await deps.services.call('orchestrator.agent.get', { runId: req.params.id }, req.principal);
      assertOwner(req.principal, run, `agent run ${req.params.id}`);
      return run;
    },
  );
  app.post(
    '/api/v1/agent-runs/:id/interrupt',
    { schema: { summary: 'stop a run', tags: ['agents'], params: RunParams, response: { 200: AgentInterruptReplyV1 } } },
    async (req) => {
      const run = await deps.services.call('orchestrator.agent.get', { runId: req.params.id }, req.principal);
      assertOwner(req.principal, run, `agent run ${req.params.id}`);
      return deps.services.call('orchestrator.agent.interrupt', { runId: req.params.id }, req.principal);
    },
  );
}
