import type { TaskNoteV1, TaskStatusV1, TaskV1 } from '@codeagent/contracts';

export type Task = TaskV1;

/** The fields TASKS.md carries and the three-way merge compares. */
export interface TaskFields {
  title: string;
  description?: string;
  status: TaskStatusV1;
  owner?: string;
}

export const FIELD_NAMES = ['title', 'description', 'status', 'owner'] as const;

export function fieldsOf(t: TaskFields): TaskFields {
  return { title: t.title, ...(t.description ? { description: t.description } : {}), status: t.status, ...(t.owner ? { owner: t.owner } : {}) };
}

export interface NewTask extends TaskFields {
  projectId?: string;
  sessionIds: string[];
  runIds: string[];
  notes: TaskNoteV1[];
}

export interface TaskPatch extends Partial<TaskFields> {
  /** Notes to append. */
  addNotes?: TaskNoteV1[];
  addSessionId?: string;
  addRunId?: string;
}

export interface TaskFilter {
  status?: TaskStatusV1;
  owner?: string;
  projectId?: string;
  sessionId?: string;
  limit: number;
  cursor?: string;
}

/** Storage of tasks and of the sync base; repositories/tasks.repository.ts implements it with Prisma. */
export interface TasksRepository {
  create(t: NewTask): Promise<Task>;
  get(id: string): Promise<Task | undefined>;
  list(f: TaskFilter): Promise<{ tasks: Task[]; nextCursor?: string }>;
  /** All of a project's tasks (for sync). */
  ofProject(projectId: string): Promise<Task[]>;
  /** Undefined when missing; CONFLICT when `expectedVersion` is given and stale. */
  update(id: string, patch: TaskPatch, expectedVersion?: number): Promise<Task | undefined>;
  delete(id: string): Promise<Task | undefined>;
  getBase(projectId: string): Promise<Map<string, TaskFields>>;
  /** Replaces the project's whole sync base. */
  setBase(projectId: string, base: Map<string, TaskFields>): Promise<void>;
  /** Takes the project's sync lease for `ms` (free, expired, or already `holder`'s); false when another holds it. */
  takeSyncLease(projectId: string, holder: string, ms: number): Promise<boolean>;
  releaseSyncLease(projectId: string, holder: string): Promise<void>;
}

/** Where a project's TASKS.md is, and reading/writing it. */
export interface TasksFilePort {
  /** The file's absolute path, or undefined when the project's source is not a local folder. */
  locate(projectId: string): Promise<string | undefined>;
  /** The text, or undefined when there is no file yet. */
  read(file: string): Promise<string | undefined>;
  /** Atomic replace; creates the folder. */
  write(file: string, text: string): Promise<void>;
}
