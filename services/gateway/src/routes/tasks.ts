import { AppError, TaskDeleteReplyV1, TaskListReplyV1, TaskStatusV1, TaskV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { assertOwner } from '../auth/access';
import { actorOf } from '../auth/actor';
import { isAdmin, type Principal } from '../auth/principal';
import { IdParams } from './schemas';

const Title = z.string().trim().min(1).max(500);
const CreateTask = z
  .object({
    title: Title,
    description: z.string().max(100_000).optional(),
    status: TaskStatusV1.optional(),
    owner: z.string().min(1).max(200).optional(),
    projectId: z.string().min(1).max(200).optional(),
    sessionId: z.string().min(1).max(200).optional(),
    runId: z.string().min(1).max(200).optional(),
  })
  .strict();
const UpdateTask = z
  .object({
    title: Title.optional(),
    description: z.string().max(100_000).optional(),
    status: TaskStatusV1.optional(),
    owner: z.string().min(1).max(200).optional(),
    /** A progress note appended to the task's notes. */
    note: z.string().min(1).max(100_000).optional(),
    sessionId: z.string().min(1).max(200).optional(),
    runId: z.string().min(1).max(200).optional(),
    expectedVersion: z.number().int().positive().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
const TaskQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  cursor: z.string().max(400).optional(),
  status: TaskStatusV1.optional(),
  owner: z.string().max(200).optional(),
  projectId: z.string().max(200).optional(),
  sessionId: z.string().max(200).optional(),
});

/** Tasks (orchestrator): create, list, get, update (status, owner, progress notes), delete. */
export function taskRoutes(app: ZApp, deps: RouteDeps): void {
  const { services } = deps;
  const owned = async (who: Principal, taskId: string) => {
    const t = await services.call('orchestrator.task.get', { taskId }, who);
    assertOwner(who, t, `task ${taskId}`);
    return t;
  };
  const mayGiveTo = (who: Principal, owner: string | undefined) => {
    if (owner && owner !== who.userId && !isAdmin(who)) throw new AppError('FORBIDDEN', 'only an admin may give a task to another user');
  };
  app.post('/api/v1/tasks', { schema: { summary: 'create a task', tags: ['tasks'], body: CreateTask, response: { 201: TaskV1 } } }, async (req, reply) => {
    const who = req.principal;
    mayGiveTo(who, req.body.owner);
    if (req.body.sessionId) await deps.access.check(who, req.body.sessionId);
    const t = await services.call('orchestrator.task.create', { ...req.body, status: req.body.status ?? 'todo', owner: req.body.owner ?? who.userId, actor: actorOf(who) }, who);
    return reply.code(201).send(t);
  });
  app.get('/api/v1/tasks', { schema: { summary: 'tasks (a member sees their own)', tags: ['tasks'], querystring: TaskQuery, response: { 200: TaskListReplyV1 } } }, async (req) => {
    const who = req.principal;
    const out = await services.call('orchestrator.task.list', { ...req.query, owner: isAdmin(who) ? req.query.owner : who.userId, actor: actorOf(who) }, who);
    return isAdmin(who) ? out : { ...out, tasks: out.tasks.filter((t) => t.owner === who.userId) };
  });
  app.get('/api/v1/tasks/:id', { schema: { summary: 'a task with its progress notes', tags: ['tasks'], params: IdParams, response: { 200: TaskV1 } } }, async (req) => owned(req.principal, req.params.id));
  app.patch('/api/v1/tasks/:id', { schema: { summary: 'update status, owner, or add a progress note', tags: ['tasks'], params: IdParams, body: UpdateTask, response: { 200: TaskV1 } } }, async (req) => {
    await owned(req.principal, req.params.id);
    mayGiveTo(req.principal, req.body.owner);
    if (req.body.sessionId) await deps.access.check(req.principal, req.body.sessionId);
    return services.call('orchestrator.task.update', { taskId: req.params.id, ...req.body, actor: actorOf(req.principal) }, req.principal);
  });
  app.delete('/api/v1/tasks/:id', { schema: { summary: 'delete a task', tags: ['tasks'], params: IdParams, response: { 200: TaskDeleteReplyV1 } } }, async (req) => {
    await owned(req.principal, req.params.id);
    return services.call('orchestrator.task.delete', { taskId: req.params.id, actor: actorOf(req.principal) }, req.principal);
  });
}
