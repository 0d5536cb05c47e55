import {
  ExternalAgentKeysBodyV1,
  ExternalAgentListV1,
  ExternalAgentNameV1,
  ExternalAgentScreenQueryV1,
  ExternalAgentScreenV1,
  ExternalAgentStartBodyV1,
  ExternalAgentStoppedV1,
  ExternalAgentV1,
} from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { IdParams } from './schemas';

const AgentParams = IdParams.extend({ name: ExternalAgentNameV1 });
const base = '/api/v1/sessions/:id/agents/external';
const tags = ['outside agents'];

/**
 * Outside agents (API.md "Outside agents in a session"): any CLI agent in the session's jail, in a
 * tmux session under a supervisor. Sent straight to the shell replica holding the jail, like exec.
 * The env given at start (API keys) is never in a reply: only its names are.
 */
export function externalAgentRoutes(app: ZApp, { commands }: RouteDeps): void {
  app.post(base, { schema: { summary: "start a command in the session's jail, in a tmux session, under a supervisor", tags, params: IdParams, body: ExternalAgentStartBodyV1, response: { 201: ExternalAgentV1 } } }, async (req, reply) => {
    // Starting waits for tmux in the jail and the first run.
    const agent = await commands.agent(req.principal, req.params.id, 'shell.agent.start', req.body, { timeoutMs: 60_000 });
    return reply.code(201).send(agent);
  });
  app.get(base, { schema: { summary: "the session's outside agents", tags, params: IdParams, response: { 200: ExternalAgentListV1 } } }, async (req) =>
    commands.agent(req.principal, req.params.id, 'shell.agent.list', {}),
  );
  app.get(`${base}/:name`, { schema: { summary: "an outside agent's state: running, backoff, exited or gave-up", tags, params: AgentParams, response: { 200: ExternalAgentV1 } } }, async (req) =>
    commands.agent(req.principal, req.params.id, 'shell.agent.status', { name: req.params.name }),
  );
  app.post(`${base}/:name/keys`, { schema: { summary: 'tmux send-keys: text, or key names such as C-c and Enter', tags, params: AgentParams, body: ExternalAgentKeysBodyV1, response: { 200: z.object({ ok: z.boolean() }) } } }, async (req) =>
    commands.agent(req.principal, req.params.id, 'shell.agent.keys', { name: req.params.name, ...req.body }),
  );
  app.get(`${base}/:name/screen`, { schema: { summary: "the last N lines of the agent's pane (tmux capture-pane)", tags, params: AgentParams, querystring: ExternalAgentScreenQueryV1, response: { 200: ExternalAgentScreenV1 } } }, async (req) =>
    commands.agent(req.principal, req.params.id, 'shell.agent.screen', { name: req.params.name, lines: req.query.lines }),
  );
  app.delete(`${base}/:name`, { schema: { summary: 'stop the supervisor and the agent', tags, params: AgentParams, response: { 200: ExternalAgentStoppedV1 } } }, async (req) =>
    commands.agent(req.principal, req.params.id, 'shell.agent.stop', { name: req.params.name }),
  );
}
