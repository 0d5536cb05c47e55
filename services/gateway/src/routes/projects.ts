import { ProjectDeleteReplyV1, ProjectSettingsV1, SourceInputV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from '../app';
import { assertOwner } from '../auth/access';
import { actorOf } from '../auth/actor';
import { isAdmin, type Principal } from '../auth/principal';
import { ProjectCiLookup, ProjectWithCi } from './project-ci-info';
import { IdParams } from './schemas';

const ProjectName = z.string().trim().min(1).max(200);
const CreateProject = z.object({ name: ProjectName, source: SourceInputV1, settings: ProjectSettingsV1.optional() }).strict();
const PatchProject = z
  .object({ name: ProjectName.optional(), source: SourceInputV1.optional(), settings: z.record(z.string(), z.unknown()).optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
const ListProjects = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(1000), cursor: z.string().max(400).optional() });
const ProjectList = z.object({ projects: z.array(ProjectWithCi), nextCursor: z.string().optional() });

/**
 * Projects (orchestrator), each answered with its CI socket (project-ci's registry). Shared by the
 * team; only their creator or an admin changes one.
 */
export function projectRoutes(app: ZApp, deps: RouteDeps): void {
  const { services } = deps;
  const ci = new ProjectCiLookup(services, deps.env.GATEWAY_PROJECT_CI_WAIT_MS);
  const ownedProject = async (who: Principal, projectId: string) => {
    if (isAdmin(who)) return;
    const p = await services.call('orchestrator.project.get', { projectId }, who);
    assertOwner(who, p, `project ${projectId}`);
  };
  app.post(
    '/api/v1/projects',
    { schema: { summary: 'create a project; 201 with it, once project-ci has opened its socket (ciSocket, socketPort)', tags: ['projects'], body: CreateProject, response: { 201: ProjectWithCi } } },
    async (req, reply) => {
      const who = req.principal;
      const p = await services.call('orchestrator.project.create', { ...req.body, settings: req.body.settings ?? {}, owner: who.userId, actor: actorOf(who) }, who, { timeoutMs: 60_000 });
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
      await ownedProject(req.principal, req.params.id);
      const p = await services.call('orchestrator.project.update', { projectId: req.params.id, ...req.body, actor: actorOf(req.principal) }, req.principal);
      return ci.withCi(p, req.principal, req.body.name ? { waitForName: p.name } : {});
    },
  );
  app.delete('/api/v1/projects/:id', { schema: { summary: 'delete a project (its CI socket closes)', tags: ['projects'], params: IdParams, response: { 200: ProjectDeleteReplyV1 } } }, async (req) => {
    await ownedProject(req.principal, req.params.id);
    return services.call('orchestrator.project.delete', { projectId: req.params.id, actor: actorOf(req.principal) }, req.principal);
  });
}
