import { ProjectDeleteReplyV1, ProjectSettingsV1, ProjectVisibilityV1, SourceInputV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { actorOf } from '../auth/actor';
import { ProjectCiLookup, ProjectWithCi } from './project-ci-info';
import { IdParams } from './schemas';

const ProjectName = z.string().trim().min(1).max(200);
const CreateProject = z.object({ name: ProjectName, source: SourceInputV1, settings: ProjectSettingsV1.optional(), visibility: ProjectVisibilityV1.optional() }).strict();
const PatchProject = z
  .object({ name: ProjectName.optional(), source: SourceInputV1.optional(), settings: z.record(z.string(), z.unknown()).optional(), visibility: ProjectVisibilityV1.optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
const ListProjects = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(1000), cursor: z.string().max(400).optional() });
const ProjectList = z.object({ projects: z.array(ProjectWithCi), nextCursor: z.string().optional() });

/**
 * Projects (orchestrator), each answered with its CI socket (project-ci's registry). The orchestrator
 * decides who sees what from the actor: a member sees their own and the team's (`visibility`), and a
 * project they may not see is a 404 like one that does not exist; only its owner or an admin changes
 * one (403 otherwise). `visibility` defaults to `private` in team mode, `team` in local mode.
 */
export function projectRoutes(app: ZApp, deps: RouteDeps): void {
  const { services } = deps;
  const ci = new ProjectCiLookup(services, deps.env.GATEWAY_PROJECT_CI_WAIT_MS);
  const defaultVisibility = deps.env.GATEWAY_AUTH_MODE === 'team' ? 'private' : 'team';
  app.post(
    '/api/v1/projects',
    { schema: { summary: 'create a project; 201 with it, once project-ci has opened its socket (ciSocket, socketPort)', tags: ['projects'], body: CreateProject, response: { 201: ProjectWithCi } } },
    async (req, reply) => {
      const who = req.principal;
      const p = await services.call('orchestrator.project.create', { ...req.body, settings: req.body.settings ?? {}, visibility: req.body.visibility ?? defaultVisibility, owner: who.userId, actor: actorOf(who) }, who, { timeoutMs: 60_000 });
      // project-ci opens the socket on project.created, asynchronously: wait (bounded) until it shows.
      return reply.code(201).send(await ci.withCi(p, who, { waitForName: p.name }));
    },
  );
  app.get('/api/v1/projects', { schema: { summary: 'projects, by index, each with its CI socket', tags: ['projects'], querystring: ListProjects, response: { 200: ProjectList } } }, async (req) => {
    const out = await services.call('orchestrator.project.list', { ...req.query, actor: actorOf(req.principal) }, req.principal);
    return { ...out, projects: await ci.withCis(out.projects, req.principal) };
  });
  app.get('/api/v1/projects/:id', { schema: { summary: 'a project, by id or name, with its CI socket', tags: ['projects'], params: IdParams, response: { 200: ProjectWithCi } } }, async (req) => {
    const p = await services.call('orchestrator.project.get', { projectId: req.params.id, actor: actorOf(req.principal) }, req.principal);
    return ci.withCi(p, req.principal);
  });
  app.patch(
    '/api/v1/projects/:id',
    { schema: { summary: 'rename, change source or settings (a rename renames its CI socket)', tags: ['projects'], params: IdParams, body: PatchProject, response: { 200: ProjectWithCi } } },
    async (req) => {
      const p = await services.call('orchestrator.project.update', { projectId: req.params.id, ...req.body, actor: actorOf(req.principal) }, req.principal);
      return ci.withCi(p, req.principal, req.body.name ? { waitForName: p.name } : {});
    },
  );
  app.delete('/api/v1/projects/:id', { schema: { summary: 'delete a project (its CI socket closes)', tags: ['projects'], params: IdParams, response: { 200: ProjectDeleteReplyV1 } } }, async (req) => {
    return services.call('orchestrator.project.delete', { projectId: req.params.id, actor: actorOf(req.principal) }, req.principal);
  });
}
