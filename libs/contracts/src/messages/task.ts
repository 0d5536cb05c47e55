import { z } from 'zod';
import { command, event } from '../define';
import { ActorV1 } from './session';

// Tasks (seed 002 §5, task coordination). Owned by services/orchestrator (src/tasks). Kept in the
// database and synced both ways with a project's docs/TASKS.md (format in the orchestrator's
// README): an edit on either side shows up on the other; when both changed the same task since the
// last sync, the task is left as the database has it and the conflict is reported (task.conflict,
// and in the sync reply), never silently dropped.

export const TaskStatusV1 = z.enum(['todo', 'in_progress', 'blocked', 'review', 'done', 'cancelled']);
export type TaskStatusV1 = z.infer<typeof TaskStatusV1>;

export const TaskNoteV1 = z.object({
  /** When, ISO 8601. */
  at: z.string(),
  /** Who wrote it (a user, or `agent:<runId>`). */
  author: z.string().optional(),
  text: z.string(),
});
export type TaskNoteV1 = z.infer<typeof TaskNoteV1>;

export const TaskV1 = z.object({
  /** `T-<n>`, stable, also the task's key in TASKS.md. */
  id: z.string(),
  title: z.string(),
  description: z.string().optional(),
  status: TaskStatusV1,
  /** The user (or agent) it is assigned to. */
  owner: z.string().optional(),
  projectId: z.string().optional(),
  /** Sessions and agent runs that worked on it. */
  sessionIds: z.array(z.string()),
  runIds: z.array(z.string()),
  /** Progress notes, oldest first. */
  notes: z.array(TaskNoteV1),
  /** Bumped on every change; give it back as `expectedVersion` to update only what you read. */
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TaskV1 = z.infer<typeof TaskV1>;

const actor = { /** Who acts (see messages/session.ts). */ actor: ActorV1.optional() };
const Title = z.string().trim().min(1).max(500);

export const TaskCreateV1 = z.object({
  title: Title,
  description: z.string().max(100_000).optional(),
  status: TaskStatusV1.default('todo'),
  owner: z.string().min(1).max(200).optional(),
  projectId: z.string().min(1).max(200).optional(),
  sessionId: z.string().min(1).max(200).optional(),
  runId: z.string().min(1).max(200).optional(),
  ...actor,
});
export const TaskListV1 = z.object({
  status: TaskStatusV1.optional(),
  /** Only this owner's tasks (forced to the actor's own for a member). */
  owner: z.string().max(200).optional(),
  projectId: z.string().max(200).optional(),
  sessionId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  cursor: z.string().max(400).optional(),
  ...actor,
});
export const TaskListReplyV1 = z.object({ tasks: z.array(TaskV1), nextCursor: z.string().optional() });
export const TaskRefV1 = z.object({ taskId: z.string().min(1).max(200), ...actor });
export const TaskUpdateV1 = z.object({
  taskId: z.string().min(1).max(200),
  title: Title.optional(),
  description: z.string().max(100_000).optional(),
  status: TaskStatusV1.optional(),
  owner: z.string().min(1).max(200).optional(),
  /** A progress note appended to the task's notes. */
  note: z.string().min(1).max(100_000).optional(),
  /** Link a session or an agent run to the task. */
  sessionId: z.string().min(1).max(200).optional(),
  runId: z.string().min(1).max(200).optional(),
  /** Refuse (CONFLICT) unless the task is still at this version. */
  expectedVersion: z.number().int().positive().optional(),
  ...actor,
});
export const TaskDeleteReplyV1 = z.object({ deleted: z.boolean() });

/** One task changed on both sides since the last sync. */
export const TaskConflictV1 = z.object({
  taskId: z.string(),
  /** The fields that differ. */
  fields: z.array(z.string()),
  /** The database's values (kept) and the file's (reported, and written back as a conflict note). */
  database: z.record(z.string(), z.unknown()),
  file: z.record(z.string(), z.unknown()),
});
export type TaskConflictV1 = z.infer<typeof TaskConflictV1>;

export const TaskSyncV1 = z.object({
  projectId: z.string().min(1).max(200),
  /** Only report what would change. */
  dryRun: z.boolean().default(false),
  ...actor,
});
export const TaskSyncReplyV1 = z.object({
  projectId: z.string(),
  /** The file synced (absolute host path). */
  file: z.string(),
  /** Tasks created or changed in the database from the file. */
  imported: z.array(z.string()),
  /** Tasks deleted in the database because they were removed from the file. */
  removed: z.array(z.string()),
  /** Whether the file was rewritten from the database. */
  exported: z.boolean(),
  conflicts: z.array(TaskConflictV1),
});

export const taskCommands = {
  'orchestrator.task.create': command('orchestrator', { request: TaskCreateV1, reply: TaskV1, summary: 'create a task' }),
  'orchestrator.task.list': command('orchestrator', { request: TaskListV1, reply: TaskListReplyV1, summary: 'tasks (a member sees their own)' }),
  'orchestrator.task.get': command('orchestrator', { request: TaskRefV1, reply: TaskV1, summary: 'a task with its notes' }),
  'orchestrator.task.update': command('orchestrator', { request: TaskUpdateV1, reply: TaskV1, summary: 'change status, owner, title; add a progress note; link a session or run' }),
  'orchestrator.task.delete': command('orchestrator', { request: TaskRefV1, reply: TaskDeleteReplyV1, summary: 'delete a task' }),
  'orchestrator.task.sync': command('orchestrator', { request: TaskSyncV1, reply: TaskSyncReplyV1, summary: "sync a project's tasks with its docs/TASKS.md, both ways" }),
} as const;

const TaskFactV1 = z.object({
  taskId: z.string(),
  title: z.string(),
  status: TaskStatusV1,
  owner: z.string().optional(),
  projectId: z.string().optional(),
  at: z.string(),
});
export const taskEvents = {
  'task.created': event({ schema: TaskFactV1, summary: 'a task was created' }),
  'task.updated': event({ schema: TaskFactV1.extend({ /** The status before, when it changed. */ previousStatus: TaskStatusV1.optional(), note: z.string().optional() }), summary: 'a task changed' }),
  'task.deleted': event({ schema: TaskFactV1, summary: 'a task was deleted' }),
  'task.conflict': event({ schema: TaskConflictV1.extend({ projectId: z.string(), at: z.string() }), summary: 'a task changed both in the database and in TASKS.md; the database kept its version' }),
} as const;
