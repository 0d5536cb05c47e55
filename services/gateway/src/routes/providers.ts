import { AgentRoleV1, AgentsConfigV1, ProviderInfoV1, ProviderSetV1, RoleConfigV1 } from '@codeagent/contracts';
import { AppError } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from '../app';
import { isAdmin, type Principal } from '../auth/principal';
import { visibleProjectId } from '../auth/project-access';

const ProjectQuery = z.object({ projectId: z.string().min(1).max(200).optional() });
const ProviderListQuery = ProjectQuery.extend({ refreshModels: z.enum(['true', 'false']).optional() });
const ProviderParams = z.object({ name: ProviderSetV1.shape.name });
const ProviderBody = ProviderSetV1.omit({ name: true });
const RoleParams = z.object({ role: AgentRoleV1 });
const RoleBody = z.object({ projectId: z.string().min(1).max(200).optional(), config: RoleConfigV1 });

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
