import {
  FileReadReplyV1,
  FileWriteReplyV1,
  SessionDiffReplyV1,
  SessionDiffV1,
  SessionFileWriteV1,
  SessionForkV1,
  SessionRestoreReplyV1,
  SessionRestoreV1,
  SessionSnapshotReplyV1,
  SessionSnapshotsReplyV1,
  SessionSnapshotV1,
  SessionV1,
} from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { actorOf } from '../auth/actor';
import { IdParams } from './schemas';

const PathQuery = z.object({ path: z.string().min(1).max(4096).default('.') });
const WriteQuery = z.object({ path: z.string().min(1).max(4096) });
// Bodies are the orchestrator commands' requests less what the route fills in (the session, the actor).
const WriteBody = SessionFileWriteV1.pick({ content: true, encoding: true }).strict();
const SnapshotBody = SessionSnapshotV1.pick({ label: true }).strict();
const DiffQuery = z.object({ from: SessionDiffV1.shape.from.describe('a snapshot id of this session; absent: the state the session started from') });
const RestoreBody = SessionRestoreV1.pick({ snapshotId: true }).strict();
const ForkBody = SessionForkV1.pick({ snapshotId: true, sandbox: true }).strict();

/** A session's workspace: files, snapshots and forks (the orchestrator knows the session's workspace). */
export function sessionWorkspaceRoutes(app: ZApp, deps: RouteDeps): void {
  const { services, access } = deps;
  app.get('/api/v1/sessions/:id/files', { schema: { summary: "a file's text or a folder's listing; no path reaches outside the workspace", tags: ['files'], params: IdParams, querystring: PathQuery, response: { 200: FileReadReplyV1 } } }, async (req) => {
    await access.check(req.principal, req.params.id);
    return services.call('orchestrator.session.file.read', { sessionId: req.params.id, path: req.query.path, actor: actorOf(req.principal) }, req.principal);
  });
  app.put('/api/v1/sessions/:id/files', { schema: { summary: 'write a file of the workspace', tags: ['files'], params: IdParams, querystring: WriteQuery, body: WriteBody, response: { 200: FileWriteReplyV1 } } }, async (req) => {
    await access.check(req.principal, req.params.id);
    return services.call('orchestrator.session.file.write', { sessionId: req.params.id, path: req.query.path, ...req.body, actor: actorOf(req.principal) }, req.principal);
  });
  app.post('/api/v1/sessions/:id/snapshots', { schema: { summary: 'snapshot the workspace', tags: ['snapshots'], params: IdParams, body: SnapshotBody.optional(), response: { 201: SessionSnapshotReplyV1 } } }, async (req, reply) => {
    await access.check(req.principal, req.params.id);
    const snap = await services.call('orchestrator.session.snapshot', { sessionId: req.params.id, ...(req.body ?? {}), actor: actorOf(req.principal) }, req.principal, { timeoutMs: 120_000 });
    return reply.code(201).send(snap);
  });
  app.get('/api/v1/sessions/:id/snapshots', { schema: { summary: 'list snapshots', tags: ['snapshots'], params: IdParams, response: { 200: SessionSnapshotsReplyV1 } } }, async (req) => {
    await access.check(req.principal, req.params.id);
    return services.call('orchestrator.session.snapshots', { sessionId: req.params.id, actor: actorOf(req.principal) }, req.principal);
  });
  app.get(
    '/api/v1/sessions/:id/diff',
    {
      schema: {
        summary: 'what changed in the workspace since the session started (or a snapshot): files added, changed, removed and a unified diff of the text ones (cut at 4 MiB: `truncated`)',
        tags: ['files'],
        params: IdParams,
        querystring: DiffQuery,
        response: { 200: SessionDiffReplyV1 },
      },
    },
    async (req) => {
      await access.check(req.principal, req.params.id);
      return services.call('orchestrator.session.diff', { sessionId: req.params.id, ...(req.query.from ? { from: req.query.from } : {}), actor: actorOf(req.principal) }, req.principal, { timeoutMs: 120_000 });
    },
  );
  app.post('/api/v1/sessions/:id/restore', { schema: { summary: "put the workspace back to one of the session's snapshots, in place: the running session sees it at once", tags: ['snapshots'], params: IdParams, body: RestoreBody, response: { 200: SessionRestoreReplyV1 } } }, async (req) => {
    await access.check(req.principal, req.params.id);
    return services.call('orchestrator.session.restore', { sessionId: req.params.id, snapshotId: req.body.snapshotId, actor: actorOf(req.principal) }, req.principal, { timeoutMs: 120_000 });
  });
  app.post('/api/v1/sessions/:id/fork', { schema: { summary: 'a new session whose workspace starts from this state', tags: ['sessions'], params: IdParams, body: ForkBody.optional(), response: { 201: SessionV1 } } }, async (req, reply) => {
    await access.check(req.principal, req.params.id);
    const s = await services.call('orchestrator.session.fork', { sessionId: req.params.id, ...(req.body ?? {}), owner: req.principal.userId, actor: actorOf(req.principal) }, req.principal, { timeoutMs: 180_000 });
    access.remember(s);
    return reply.code(201).send(s);
  });
}
