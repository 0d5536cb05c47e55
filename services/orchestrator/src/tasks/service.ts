import { AppError, type CommandRequest, type TaskConflictV1, type TaskV1 } from '@codeagent/contracts';
import { KeyedLock } from '@codeagent/config';
import type { Logger } from '@codeagent/telemetry';
import type { Publisher } from '../sessions/ports';
import { parseTasks, renderTasks, type ParsedTask } from './markdown';
import { rewriteTasks } from './rewrite';
import { planSync } from './sync';
import { fieldsOf, type Task, type TaskFields, type TaskPatch, type TasksFilePort, type TasksRepository } from './task';

export interface SyncResult {
  projectId: string;
  file: string;
  imported: string[];
  removed: string[];
  exported: boolean;
  conflicts: TaskConflictV1[];
}

/**
 * Tasks: CRUD in the database, and the two-way sync with each project's TASKS.md. A change through
 * the API schedules a sync of its project (the file follows); a change in the file is picked up by
 * the next sync (on request, or by the periodic check in main.ts).
 */
export class TaskService {
  private readonly syncs = new KeyedLock();
  private readonly scheduled = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly repo: TasksRepository,
    private readonly files: TasksFilePort,
    private readonly publisher: Publisher,
    private readonly log: Logger,
    private readonly opts: { holder: string; syncDelayMs: number; leaseMs: number },
  ) {}

  async create(req: CommandRequest<'orchestrator.task.create'>, owner: string | undefined): Promise<TaskV1> {
    const t = await this.repo.create({
      title: req.title,
      ...(req.description ? { description: req.description } : {}),
      status: req.status,
      ...(owner ? { owner } : {}),
      ...(req.projectId ? { projectId: req.projectId } : {}),
      sessionIds: req.sessionId ? [req.sessionId] : [],
      runIds: req.runId ? [req.runId] : [],
      notes: [],
    });
    this.fact('task.created', t);
    this.schedule(t.projectId);
    return t;
  }

  async get(id: string): Promise<Task> {
    const t = await this.repo.get(id);
    if (!t) throw new AppError('NOT_FOUND', `no task ${id}`, { details: { taskId: id } });
    return t;
  }

  list(req: CommandRequest<'orchestrator.task.list'>, owner: string | undefined) {
    return this.repo.list({ status: req.status, owner, projectId: req.projectId, sessionId: req.sessionId, limit: req.limit, cursor: req.cursor });
  }

  async update(req: CommandRequest<'orchestrator.task.update'>, author: string | undefined): Promise<TaskV1> {
    const before = await this.get(req.taskId);
    const patch: TaskPatch = {
      ...(req.title !== undefined ? { title: req.title } : {}),
      ...(req.description !== undefined ? { description: req.description } : {}),
      ...(req.status !== undefined ? { status: req.status } : {}),
      ...(req.owner !== undefined ? { owner: req.owner } : {}),
      ...(req.note ? { addNotes: [{ at: new Date().toISOString(), ...(author ? { author } : {}), text: req.note }] } : {}),
      ...(req.sessionId ? { addSessionId: req.sessionId } : {}),
      ...(req.runId ? { addRunId: req.runId } : {}),
    };
    const t = await this.repo.update(req.taskId, patch, req.expectedVersion);
    if (!t) throw new AppError('NOT_FOUND', `no task ${req.taskId}`);
    this.fact('task.updated', t, { ...(before.status !== t.status ? { previousStatus: before.status } : {}), ...(req.note ? { note: req.note } : {}) });
    this.schedule(t.projectId);
    return t;
  }

  async delete(id: string): Promise<boolean> {
    const t = await this.repo.delete(id);
    if (!t) return false;
    this.fact('task.deleted', t);
    this.schedule(t.projectId);
    return true;
  }

  /**
   * One two-way sync of a project's tasks with its TASKS.md: serialised per project in this replica,
   * and across replicas by the project's sync lease (CONFLICT, retryable, while another holds it).
   */
  sync(projectId: string, dryRun = false): Promise<SyncResult> {
    return this.syncs.run(projectId, () => this.leased(projectId, () => this.syncNow(projectId, dryRun)));
  }

  /** Stops pending syncs (shutdown). */
  close(): void {
    for (const t of this.scheduled.values()) clearTimeout(t);
    this.scheduled.clear();
  }

  private async leased<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    if (!(await this.repo.takeSyncLease(projectId, this.opts.holder, this.opts.leaseMs))) {
      throw new AppError('CONFLICT', `another orchestrator replica is syncing the TASKS.md of project ${projectId}; try again in a moment`, { retryable: true });
    }
    try {
      return await fn();
    } finally {
      await this.repo.releaseSyncLease(projectId, this.opts.holder).catch((err: Error) => this.log.warn({ err, projectId }, 'sync lease not released; it expires'));
    }
  }

  /** A sync soon; while another replica holds the lease, again later, so an API change always reaches the file. */
  private schedule(projectId: string | undefined, delayMs = this.opts.syncDelayMs): void {
    if (!projectId || this.scheduled.has(projectId)) return;
    this.scheduled.set(
      projectId,
      setTimeout(() => {
        this.scheduled.delete(projectId);
        this.sync(projectId).catch((err: Error) => {
          if (err instanceof AppError && err.code === 'CONFLICT') this.schedule(projectId, this.opts.syncDelayMs * 5);
          else this.log.warn({ err, projectId }, 'TASKS.md not synced');
        });
      }, delayMs),
    );
  }

  private async syncNow(projectId: string, dryRun: boolean): Promise<SyncResult> {
    const file = await this.files.locate(projectId);
    if (!file) throw new AppError('INVALID_STATE', `project ${projectId} has no local folder, so it has no TASKS.md to sync`);
    const text = await this.files.read(file);
    const doc = text === undefined ? undefined : parseTasks(text);
    for (const p of doc?.problems ?? []) this.log.warn({ projectId, file }, `TASKS.md: ${p}`);
    const base = await this.repo.getBase(projectId);
    const db = await this.repo.ofProject(projectId);
    // No file yet: nothing was deleted from it; everything in the database is simply exported.
    const plan = planSync(db, doc?.tasks ?? [], doc ? base : new Map());
    const result: SyncResult = { projectId, file, imported: [], removed: [], exported: false, conflicts: plan.conflicts };
    if (dryRun) {
      result.imported = [...plan.create.map((c) => c.id ?? `(new) ${c.title}`), ...plan.update.map((u) => u.id)];
      result.removed = plan.remove;
      return result;
    }
    const created = new Map<ParsedTask, string>();
    for (const c of plan.create) {
      const t = await this.repo.create({ ...fieldsOf(c), projectId, sessionIds: [], runIds: [], notes: c.notes });
      created.set(c, t.id);
      result.imported.push(t.id);
      this.fact('task.created', t);
    }
    for (const u of plan.update) {
      const t = await this.repo.update(u.id, { ...u.patch, addNotes: u.addNotes });
      if (t) {
        result.imported.push(t.id);
        this.fact('task.updated', t);
      }
    }
    for (const id of plan.remove) {
      const t = await this.repo.delete(id);
      if (t) {
        result.removed.push(id);
        this.fact('task.deleted', t);
      }
    }
    for (const c of plan.conflicts) {
      // The file's version is kept as a note on the task, so it survives the rewrite of the file.
      const desc = Object.entries(c.file).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
      if (!c.fields.includes('deleted') || c.database.deleted === undefined) {
        await this.repo.update(c.taskId, { addNotes: [{ at: new Date().toISOString(), author: 'sync', text: `conflict: TASKS.md had ${desc}; the database version was kept` }] }).catch(() => undefined);
      }
      this.publisher.publish('task.conflict', { ...c, projectId, at: new Date().toISOString() }).catch(() => undefined);
      this.log.warn({ projectId, taskId: c.taskId, fields: c.fields }, 'task changed on both sides; database version kept');
    }
    const now = (await this.repo.ofProject(projectId)).sort((a, b) => Number(a.id.slice(2)) - Number(b.id.slice(2)));
    // An existing file is edited where its task items are, so everything else in it stays as written.
    const rendered = doc ? rewriteTasks(doc, now, created) : renderTasks(now);
    if (rendered !== text && (now.length > 0 || text !== undefined)) {
      await this.files.write(file, rendered);
      result.exported = true;
    }
    await this.repo.setBase(projectId, new Map(now.map((t) => [t.id, fieldsOf(t)] as [string, TaskFields])));
    return result;
  }

  private fact(name: 'task.created' | 'task.updated' | 'task.deleted', t: Task, extra: Record<string, unknown> = {}): void {
    const payload = { taskId: t.id, title: t.title, status: t.status, ...(t.owner ? { owner: t.owner } : {}), ...(t.projectId ? { projectId: t.projectId } : {}), at: new Date().toISOString(), ...extra };
    this.publisher.publish(name, payload as never).catch((err: Error) => this.log.warn({ err }, `${name} not published`));
  }
}
