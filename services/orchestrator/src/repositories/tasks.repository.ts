import { isUniqueViolation } from '@codeagent/db';
import { AppError, type TaskNoteV1, type TaskStatusV1 } from '@codeagent/contracts';
import type { NewTask, Task, TaskFields, TaskFilter, TaskPatch, TasksRepository } from '../tasks/task';
import { type Db } from './database';
import { offsetOf } from '../paging';

type Row = NonNullable<Awaited<ReturnType<Db['task']['findUnique']>>>;

function toTask(r: Row): Task {
  return {
    id: r.id,
    title: r.title,
    ...(r.description ? { description: r.description } : {}),
    status: r.status as TaskStatusV1,
    ...(r.owner ? { owner: r.owner } : {}),
    ...(r.projectId ? { projectId: r.projectId } : {}),
    sessionIds: r.sessionIds as string[],
    runIds: r.runIds as string[],
    notes: r.notes as TaskNoteV1[],
    version: r.version,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

const add = (list: string[], v: string | undefined) => (v && !list.includes(v) ? [...list, v] : list);

export class PrismaTasksRepository implements TasksRepository {
  constructor(private readonly db: Db) {}

  async create(t: NewTask): Promise<Task> {
    // Ids are T-<max+1>; two writers racing for the same number retry on the unique index.
    for (let attempt = 0; attempt < 20; attempt++) {
      const top = await this.db.task.aggregate({ _max: { number: true } });
      const number = (top._max.number ?? 0) + 1;
      try {
        const r = await this.db.task.create({
          data: {
            id: `T-${number}`,
            number,
            title: t.title,
            description: t.description ?? null,
            status: t.status,
            owner: t.owner ?? null,
            projectId: t.projectId ?? null,
            sessionIds: t.sessionIds,
            runIds: t.runIds,
            notes: t.notes as object[],
          },
        });
        return toTask(r);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new AppError('CONFLICT', 'could not allocate a task id: too many concurrent creations, try again', { retryable: true });
  }

  async get(id: string): Promise<Task | undefined> {
    const r = await this.db.task.findUnique({ where: { id } });
    return r ? toTask(r) : undefined;
  }

  async list(f: TaskFilter): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const offset = offsetOf(f.cursor);
    const rows = await this.db.task.findMany({
      where: { ...(f.status ? { status: f.status } : {}), ...(f.owner ? { owner: f.owner } : {}), ...(f.projectId ? { projectId: f.projectId } : {}) },
      orderBy: { number: 'asc' },
    });
    // sessionIds is a JSON list: filtered here (portable across SQLite and PostgreSQL).
    const all = rows.map(toTask).filter((t) => !f.sessionId || t.sessionIds.includes(f.sessionId));
    const page = all.slice(offset, offset + f.limit);
    return { tasks: page, ...(offset + f.limit < all.length ? { nextCursor: String(offset + f.limit) } : {}) };
  }

  async ofProject(projectId: string): Promise<Task[]> {
    return (await this.db.task.findMany({ where: { projectId }, orderBy: { number: 'asc' } })).map(toTask);
  }

  async update(id: string, patch: TaskPatch, expectedVersion?: number): Promise<Task | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.get(id);
      if (!cur) return undefined;
      if (expectedVersion !== undefined && cur.version !== expectedVersion) {
        throw new AppError('CONFLICT', `task ${id} is at version ${cur.version}, not ${expectedVersion}: read it again`, { details: { version: cur.version } });
      }
      const data = {
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...('description' in patch ? { description: patch.description ?? null } : {}),
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        ...('owner' in patch ? { owner: patch.owner ?? null } : {}),
        ...(patch.addNotes?.length ? { notes: [...cur.notes, ...patch.addNotes] as object[] } : {}),
        ...(patch.addSessionId ? { sessionIds: add(cur.sessionIds, patch.addSessionId) } : {}),
        ...(patch.addRunId ? { runIds: add(cur.runIds, patch.addRunId) } : {}),
        version: cur.version + 1,
      };
      // Compare-and-set on the version: notes and links are read-modify-write lists.
      const { count } = await this.db.task.updateMany({ where: { id, version: cur.version }, data });
      if (count === 1) return this.get(id);
      if (expectedVersion !== undefined) throw new AppError('CONFLICT', `task ${id} changed meanwhile: read it again`);
    }
    throw new AppError('CONFLICT', `task ${id} is changing too fast; try again`, { retryable: true });
  }

  async delete(id: string): Promise<Task | undefined> {
    const cur = await this.get(id);
    if (!cur) return undefined;
    const { count } = await this.db.task.deleteMany({ where: { id } });
    return count ? cur : undefined;
  }

  async getBase(projectId: string): Promise<Map<string, TaskFields>> {
    const rows = await this.db.taskSyncBase.findMany({ where: { projectId } });
    return new Map(rows.map((r) => [r.taskId, r.fields as unknown as TaskFields]));
  }

  async setBase(projectId: string, base: Map<string, TaskFields>): Promise<void> {
    await this.db.$transaction([
      this.db.taskSyncBase.deleteMany({ where: { projectId } }),
      this.db.taskSyncBase.createMany({ data: [...base].map(([taskId, fields]) => ({ projectId, taskId, fields: fields as object })) }),
    ]);
  }

  async takeSyncLease(projectId: string, holder: string, ms: number): Promise<boolean> {
    const now = new Date();
    const until = new Date(now.getTime() + ms);
    try {
      await this.db.taskSyncLease.create({ data: { projectId, holder, until } });
      return true;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    // Taken: ours to renew, or an expired one (its holder died mid-sync) to replace.
    const { count } = await this.db.taskSyncLease.updateMany({ where: { projectId, OR: [{ holder }, { until: { lt: now } }] }, data: { holder, until } });
    return count === 1;
  }

  async releaseSyncLease(projectId: string, holder: string): Promise<void> {
    await this.db.taskSyncLease.deleteMany({ where: { projectId, holder } });
  }
}
