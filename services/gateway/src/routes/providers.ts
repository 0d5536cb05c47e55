import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentsConfigV1, AgentsSetV1, type ModelPullProgressV1, ProviderInfoV1, ProviderModelsReplyV1, ProviderModelsV1, ProviderPullV1, ProviderSetV1 } from '@codeagent/contracts';
import { AppError } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { isAdmin, type Principal } from '../auth/principal';
import { visibleProjectId } from '../auth/project-access';

const ProjectQuery = z.object({ projectId: z.string().min(1).max(200).optional() });
const ProviderListQuery = ProjectQuery.extend({ refreshModels: z.enum(['true', 'false']).optional() });
const ProviderParams = z.object({ name: ProviderSetV1.shape.name });
const ProviderBody = ProviderSetV1.omit({ name: true });
const ModelsQuery = ProjectQuery.extend({
  source: ProviderModelsV1.shape.source,
  query: ProviderModelsV1.shape.query,
  cursor: ProviderModelsV1.shape.cursor,
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const PullBody = ProjectQuery.extend({ model: ProviderPullV1.shape.model });
/** How often the replica running a pull is asked for its new steps while the response streams. */
const PULL_POLL_MS = 200;
const RoleParams = AgentsSetV1.pick({ role: true });
const RoleBody = ProjectQuery.extend({ config: AgentsSetV1.shape.config });

function requireAdmin(who: Principal, what: string): void {
  if (!isAdmin(who)) throw new AppError('FORBIDDEN', `only an admin may ${what}`);
}

/** Seed 003's provider registry and each agent role's provider, model and fallbacks (orchestrator). */
export function providerRoutes(app: ZApp, deps: RouteDeps): void {
  app.get(
    '/api/v1/providers',
    { schema: { summary: 'providers and their models', tags: ['providers'], querystring: ProviderListQuery, response: { 200: z.object({ providers: z.array(ProviderInfoV1) }) } } },
    async (req) => {
      const projectId = req.query.projectId && (await visibleProjectId(deps.services, req.principal, req.query.projectId));
      return deps.services.call('orchestrator.provider.list', { projectId, refreshModels: req.query.refreshModels === 'true' }, req.principal);
    },
  );
  app.put(
    '/api/v1/providers/:name',
    { schema: { summary: 'configure a provider (admin); its key is stored encrypted', tags: ['providers'], params: ProviderParams, body: ProviderBody, response: { 200: ProviderInfoV1 } } },
    async (req) => {
      requireAdmin(req.principal, 'configure providers');
      return deps.services.call('orchestrator.provider.set', { ...req.body, name: req.params.name }, req.principal);
    },
  );
  app.get(
    '/api/v1/providers/:name/models',
    {
      schema: {
        summary: "a provider's installed (local servers) or available models, from its own API; searched by `query`, paged by `cursor`/`limit`",
        tags: ['providers'],
        params: ProviderParams,
        querystring: ModelsQuery,
        response: { 200: ProviderModelsReplyV1 },
      },
    },
    async (req) => {
      const { projectId: asked, ...q } = req.query;
      const projectId = asked && (await visibleProjectId(deps.services, req.principal, asked));
      return deps.services.call('orchestrator.provider.models', { ...q, projectId, name: req.params.name }, req.principal, { timeoutMs: 60_000 });
    },
  );
  app.post(
    '/api/v1/providers/:name/models/pull',
    {
      schema: {
        summary: 'install a model on a local server (admin): Ollama pull, LM Studio download; the response streams its progress as NDJSON, one provider.model.pull step a line, the last with state succeeded or failed',
        tags: ['providers'],
        params: ProviderParams,
        body: PullBody,
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal, 'install models');
      const projectId = req.body.projectId && (await visibleProjectId(deps.services, req.principal, req.body.projectId));
      // Refusals (unknown provider, a cloud kind) are problem+json before anything streams.
      const { pullId, instanceId } = await deps.services.call('orchestrator.provider.pull', { projectId, name: req.params.name, model: req.body.model, pullId: randomUUID() }, req.principal);
      let gone = false;
      req.raw.on('close', () => (gone = true));
      const steps = async function* () {
        let seen = 0;
        while (!gone) {
          let steps: ModelPullProgressV1[];
          try {
            ({ steps } = await deps.services.call('orchestrator.provider.pull.status', { pullId, afterSeq: seen }, req.principal, { instanceId }));
          } catch (err) {
            yield `${JSON.stringify({ pullId, state: 'failed', status: 'failed', error: `lost track of the pull: ${(err as Error).message}` })}\n`;
            return;
          }
          for (const step of steps) {
            seen = step.seq;
            yield `${JSON.stringify(step)}\n`;
            if (step.state !== 'running') return;
          }
          await sleep(PULL_POLL_MS);
        }
      };
      reply.header('content-type', 'application/x-ndjson').header('x-pull-id', pullId);
      return reply.send(Readable.from(steps()));
    },
  );
  app.get(
    '/api/v1/agents',
    { schema: { summary: 'which provider, model and fallbacks each agent role uses', tags: ['agents'], querystring: ProjectQuery, response: { 200: AgentsConfigV1 } } },
    async (req) => {
      const projectId = req.query.projectId && (await visibleProjectId(deps.services, req.principal, req.query.projectId));
      return deps.services.call('orchestrator.agents.get', { projectId }, req.principal);
    },
  );
  app.put(
    '/api/v1/agents/:role',
    { schema: { summary: "set one role's provider, model and fallbacks (admin)", tags: ['agents'], params: RoleParams, body: RoleBody, response: { 200: AgentsConfigV1 } } },
    async (req) => {
      requireAdmin(req.principal, 'change agent configuration');
      return deps.services.call('orchestrator.agents.set', { projectId: req.body.projectId, role: req.params.role, config: req.body.config }, req.principal);
    },
  );
}
