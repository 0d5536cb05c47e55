import { ExecResultV1, SessionEventsReplyV1, SessionInterruptReplyV1, SessionListReplyV1, SandboxSpecV1, SessionV1, SourceInputV1, SessionStatusV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { assertOwner } from '../auth/access';
import { actorOf } from '../auth/actor';
import { isAdmin } from '../auth/principal';
import { IdParams } from './schemas';
import { sessionWorkspaceRoutes } from './session-workspace';

const CreateSession = z
  .object({
    projectId: z.string().min(1).max(200).optional(),
    source: SourceInputV1.optional(),
    sandbox: SandboxSpecV1.optional(),
    workspacePolicy: z.enum(['remove', 'keep']).optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** `bubblewrap` or `docker`, overriding the project's discovery (API.md "Project discovery"). */
    driver: z.enum(['bubblewrap', 'docker']).optional(),
    /** A Docker project on a host without an engine runs in a jail instead of failing (default false). */
    fallbackToBubblewrap: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Boolean(b.projectId) !== Boolean(b.source), { message: 'give exactly one of projectId or source', path: ['projectId'] });
/** A docker session may build its project's image first (the orchestrator allows ORCHESTRATOR_DOCKER_OPEN_TIMEOUT_MS, 10 min). */
const SESSION_CREATE_MS = 12 * 60_000;
const ListSessions = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(400).optional(),
  projectId: z.string().max(200).optional(),
  status: SessionStatusV1.optional(),
  includeEnded: z.enum(['true', 'false']).optional(),
  /** Admins only: someone's sessions. */
  owner: z.string().max(200).optional(),
});
const ExecBody = z.object({ command: z.string().min(1).max(1_000_000), timeoutMs: z.number().int().min(1).max(86_400_000).optional() }).strict();
const EventsQuery = z.object({ since: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(10_000).default(1000) });
const CloseQuery = z.object({ workspacePolicy: z.enum(['remove', 'keep']).optional() });

/** Sessions (orchestrator): lifecycle, exec, interrupt, events. The gateway checks ownership itself. */
export function sessionRoutes(app: ZApp, deps: RouteDeps): void {
  const { services, access, commands } = deps;
  app.post('/api/v1/sessions', { schema: { summary: 'open a session on a project or a source; 201 once its shell answers', tags: ['sessions'], body: CreateSession, response: { 201: SessionV1 } } }, async (req, reply) => {
    const who = req.principal;
    const session = await services.call('orchestrator.session.create', { ...req.body, owner: who.userId, actor: actorOf(who) }, who, { timeoutMs: SESSION_CREATE_MS });
    access.remember(session);
    return reply.code(201).send(session);
  });
  app.get('/api/v1/sessions', { schema: { summary: 'sessions, newest first (a member sees their own)', tags: ['sessions'], querystring: ListSessions, response: { 200: SessionListReplyV1 } } }, async (req) => {
    const who = req.principal;
    const { includeEnded, owner, ...q } = req.query;
    const out = await services.call('orchestrator.session.list', { ...q, includeEnded: includeEnded === 'true', owner: isAdmin(who) ? owner : who.userId, actor: actorOf(who) }, who);
    // Filtered here too: the gateway does not rely on the service to honour the owner filter.
    return isAdmin(who) ? out : { ...out, sessions: out.sessions.filter((s) => s.owner === who.userId) };
  });
  app.get('/api/v1/sessions/:id', { schema: { summary: 'a session', tags: ['sessions'], params: IdParams, response: { 200: SessionV1 } } }, async (req) => {
    const s = await services.call('orchestrator.session.get', { sessionId: req.params.id, actor: actorOf(req.principal) }, req.principal);
    assertOwner(req.principal, s, `session ${req.params.id}`);
    access.remember(s);
    return s;
  });
  app.delete('/api/v1/sessions/:id', { schema: { summary: 'close a session: ends every process of it', tags: ['sessions'], params: IdParams, querystring: CloseQuery, response: { 200: SessionV1 } } }, async (req) => {
    await access.check(req.principal, req.params.id);
    const closed = await services.call('orchestrator.session.close', { sessionId: req.params.id, ...req.query, actor: actorOf(req.principal) }, req.principal, { timeoutMs: 60_000 });
    access.remember(closed);
    return closed;
  });
  app.post('/api/v1/sessions/:id/exec', { schema: { summary: 'run a command; `cd` and `export` persist', tags: ['sessions'], params: IdParams, body: ExecBody, response: { 200: ExecResultV1 } } }, async (req) => {
    return commands.exec(req.principal, req.params.id, req.body);
  });
  app.post('/api/v1/sessions/:id/interrupt', { schema: { summary: 'interrupt the running command', tags: ['sessions'], params: IdParams, response: { 200: SessionInterruptReplyV1 } } }, async (req) => {
    return commands.interrupt(req.principal, req.params.id);
  });
  app.get('/api/v1/sessions/:id/events', { schema: { summary: "the session's events after sequence number `since`", tags: ['sessions'], params: IdParams, querystring: EventsQuery, response: { 200: SessionEventsReplyV1 } } }, async (req) => {
    await access.check(req.principal, req.params.id);
    return services.call('orchestrator.session.events', { sessionId: req.params.id, ...req.query, actor: actorOf(req.principal) }, req.principal);
  });
  sessionWorkspaceRoutes(app, deps);
}
