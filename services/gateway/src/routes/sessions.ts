import {
  ExecResultV1,
  SessionCloseV1,
  SessionCreateV1,
  SessionEventsReplyV1,
  SessionEventsV1,
  SessionExecV1,
  SessionInterruptReplyV1,
  SessionListReplyV1,
  SessionStatusV1,
  SessionV1,
} from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { assertOwner } from '../auth/access';
import { actorOf } from '../auth/actor';
import { isAdmin } from '../auth/principal';
import { IdParams } from './schemas';
import { sessionWorkspaceRoutes } from './session-workspace';

// The orchestrator's request less who asks (the route fills it in), and nothing else.
const { owner: _owner, actor: _actor, ...createFields } = SessionCreateV1.shape;
const CreateSession = z
  .object(createFields)
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
// The orchestrator commands' requests less what the route fills in (the session, the actor).
const ExecBody = SessionExecV1.pick({ command: true, timeoutMs: true }).strict();
const EventsQuery = SessionEventsV1.pick({ since: true, limit: true });
const CloseQuery = SessionCloseV1.pick({ workspacePolicy: true });

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
