import type { ParsedTask } from './markdown';
import { planSync } from './sync';
import type { Task, TaskFields } from './task';

const task = (id: string, f: Partial<Task> = {}): Task => ({
  id,
  title: `task ${id}`,
  status: 'todo',
  sessionIds: [],
  runIds: [],
  notes: [],
  version: 1,
  createdAt: '2026-11-21T00:00:00.000Z',
  updatedAt: '2026-11-21T00:00:00.000Z',
  ...f,
});
const line = (id: string | undefined, f: Partial<ParsedTask> = {}): ParsedTask => ({ ...(id ? { id } : {}), title: `task ${id}`, status: 'todo', notes: [], line: 1, ...f });
const base = (...ids: string[]) => new Map<string, TaskFields>(ids.map((id) => [id, { title: `task ${id}`, status: 'todo' }]));

describe('the three-way merge of TASKS.md with the database', () => {
  test('an edit on one side only takes that side; the file’s new notes are added', () => {
    const note = { at: '2026-11-22T00:00:00.000Z', author: 'ann', text: 'started' };
    const plan = planSync([task('T-1'), task('T-2', { status: 'review' })], [line('T-1', { status: 'in_progress', notes: [note] }), line('T-2')], base('T-1', 'T-2'));
    expect(plan.update).toEqual([{ id: 'T-1', patch: { status: 'in_progress' }, addNotes: [note] }]);
    expect(plan.conflicts).toEqual([]);
    expect(plan.create).toEqual([]);
    expect(plan.remove).toEqual([]);
  });

  test('the same field changed on both sides to different values is a conflict; the other fields still merge', () => {
    const plan = planSync([task('T-1', { status: 'done' })], [line('T-1', { status: 'blocked', owner: 'bob' })], base('T-1'));
    expect(plan.conflicts).toEqual([{ taskId: 'T-1', fields: ['status'], database: { status: 'done' }, file: { status: 'blocked' } }]);
    expect(plan.update).toEqual([{ id: 'T-1', patch: { owner: 'bob' }, addNotes: [] }]);
  });

  test('the same change on both sides is no conflict', () => {
    const plan = planSync([task('T-1', { status: 'done' })], [line('T-1', { status: 'done' })], base('T-1'));
    expect(plan).toEqual({ create: [], update: [], remove: [], conflicts: [] });
  });

  test('a line without an id, or with an id the database never had, is a new task', () => {
    const plan = planSync([], [line(undefined, { title: 'typed by hand' }), line('T-77')], new Map());
    expect(plan.create.map((c) => c.title)).toEqual(['typed by hand', 'task T-77']);
  });

  test('a line deleted from the file deletes the task unless the database changed it meanwhile', () => {
    const plan = planSync([task('T-1'), task('T-2', { owner: 'carl' })], [], base('T-1', 'T-2'));
    expect(plan.remove).toEqual(['T-1']);
    expect(plan.conflicts).toEqual([{ taskId: 'T-2', fields: ['deleted', 'owner'], database: { owner: 'carl' }, file: { deleted: true } }]);
  });

  test('a task deleted in the database stays deleted unless the file changed it meanwhile', () => {
    const plan = planSync([], [line('T-1'), line('T-2', { title: 'renamed in the file' })], base('T-1', 'T-2'));
    expect(plan.create).toEqual([]);
    expect(plan.conflicts).toEqual([{ taskId: 'T-2', fields: ['deleted', 'title'], database: { deleted: true }, file: { title: 'renamed in the file' } }]);
  });

  test('a task new in the database is left for the export, not deleted', () => {
    expect(planSync([task('T-9')], [], new Map())).toEqual({ create: [], update: [], remove: [], conflicts: [] });
  });
});
