import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError, type ProjectV1, type TaskV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { connectClient, startOrchestrator } from './harness';
import { tasksCorpus } from './tasks-corpus';

// Projects and tasks through the real orchestrator process over the bus, with a project folder on
// disk: its docs/TASKS.md follows changes made through the API, changes made in the file come back
// on sync, and an edit on both sides is reported as a conflict with nothing lost.
let broker: TestBroker;
let db: TestDatabase;
let orch: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
let dir: string;
let project: ProjectV1;
const req = <T>(name: string, payload: unknown) => (client.bus.request as any)(name, payload, { timeoutMs: 20_000 }) as Promise<T>;
const tasksFile = () => path.join(dir, 'docs', 'TASKS.md');
const readTasksFile = () => {
  try {
    return readFileSync(tasksFile(), 'utf8');
  } catch {
    return '';
  }
};
const getTask = (taskId: string) => req<TaskV1>('orchestrator.task.get', { taskId });
const sync = () => req<{ imported: string[]; removed: string[]; exported: boolean; conflicts: Array<{ taskId: string; fields: string[] }> }>('orchestrator.task.sync', { projectId: project.id });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AppError);

beforeAll(async () => {
  broker = await createTestBroker('orch-tasks');
  db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-tasks');
  dir = mkdtempSync(path.join(tmpdir(), 'orch-project-'));
  client = await connectClient(broker.url);
  // No periodic check: each file edit is picked up by an explicit sync, so every step is deterministic.
  orch = await startOrchestrator({ RABBITMQ_URL: broker.url, ...db.env, INSTANCE_ID: 'orch-tasks', ORCHESTRATOR_RECONCILE_MS: '0', ORCHESTRATOR_TASKS_SYNC_MS: '0' });
  project = await req<ProjectV1>('orchestrator.project.create', { name: 'tasks-demo', source: { path: dir } });
}, 60_000);

afterAll(async () => {
  await orch?.stop();
  await client?.bus.close(500);
  await broker?.dispose();
  await db?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('projects: create, rename, delete, each published for the other services', async () => {
  expect(project).toMatchObject({ name: 'tasks-demo', source: { kind: 'path', path: dir } });
  const other = await req<ProjectV1>('orchestrator.project.create', { name: 'other', source: { git: 'https://example.invalid/x.git' } });
  expect(other.index).toBe(project.index + 1);
  expect((await failure(req('orchestrator.project.create', { name: 'other', source: { path: dir } })))?.code).toBe('CONFLICT');
  const renamed = await req<ProjectV1>('orchestrator.project.update', { projectId: 'other', name: 'renamed', settings: { sandbox: { memoryMb: 512 } } });
  expect(renamed).toMatchObject({ id: other.id, name: 'renamed', settings: { sandbox: { memoryMb: 512 } } });
  expect(await req('orchestrator.project.delete', { projectId: other.id })).toMatchObject({ deleted: true });
  expect(await req('orchestrator.project.delete', { projectId: other.id })).toEqual({ deleted: false });
  await waitFor('project facts', () =>
    ['project.created', 'project.updated', 'project.deleted'].every((n) => client.facts.some((f) => f.name === n && f.payload.projectId === other.id)),
  );
  expect(client.facts.find((f) => f.name === 'project.updated' && f.payload.projectId === other.id)?.payload).toMatchObject({ name: 'renamed', previousName: 'other' });
});

test('bad task input is refused with a clear error and stores nothing', async () => {
  expect(await failure(req('orchestrator.task.create', { title: 'orphan', projectId: 'no-such-project' }))).toMatchObject({ code: 'NOT_FOUND' });
  expect(await failure(req('orchestrator.task.create', { title: 'orphan', sessionId: 'ses_missing' }))).toMatchObject({ code: 'NOT_FOUND' });
  expect(await failure(req('orchestrator.task.create', { title: '   ' }))).toMatchObject({ code: 'VALIDATION_FAILED' });
  expect(await failure(req('orchestrator.task.list', { cursor: 'abc' }))).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('cursor') });
  expect(await failure(req('orchestrator.task.update', { taskId: 'T-999', status: 'done' }))).toMatchObject({ code: 'NOT_FOUND' });
  expect((await req<{ tasks: TaskV1[] }>('orchestrator.task.list', {})).tasks).toEqual([]);
});

test('TASKS.md round trip: API changes reach the file, file edits reach the database', async () => {
  const a = await req<TaskV1>('orchestrator.task.create', { title: 'Write the parser', projectId: 'tasks-demo', owner: 'ann' });
  expect(a).toMatchObject({ projectId: project.id, status: 'todo', version: 1 });
  await req('orchestrator.task.update', { taskId: a.id, status: 'in_progress', note: 'half way' });
  await waitFor('the file to follow the API', () => readTasksFile().includes(`- [ ] ${a.id} Write the parser (status: in_progress, owner: ann)`));
  expect(readTasksFile()).toMatch(/ {2}- note \S+: half way\n/);

  // A person ticks the box, adds a note and a new task, in their editor.
  const edited = readTasksFile()
    .replace(`- [ ] ${a.id} Write the parser (status: in_progress, owner: ann)`, `- [x] ${a.id} Write the parser (owner: ann)\n  - note 2026-11-22T08:00:00.000Z ann: done on the train`)
    .concat('- [ ] Document the format (owner: bob)\n  It lives in the README.\n');
  writeFileSync(tasksFile(), edited);
  const r = await sync();
  expect(r.conflicts).toEqual([]);
  expect(r.exported).toBe(true); // the new task got its id written back
  const after = await getTask(a.id);
  expect(after.status).toBe('done');
  expect(after.notes.map((n) => n.text)).toEqual(['half way', 'done on the train']);
  const { tasks } = await req<{ tasks: TaskV1[] }>('orchestrator.task.list', { projectId: 'tasks-demo' }); // by name, as in create
  const b = tasks.find((t) => t.title === 'Document the format')!;
  expect(b).toMatchObject({ owner: 'bob', description: 'It lives in the README.', status: 'todo' });
  expect(readTasksFile()).toContain(`- [ ] ${b.id} Document the format (owner: bob)`);

  // Nothing changed since: a second sync is a no-op.
  expect(await sync()).toMatchObject({ imported: [], removed: [], exported: false, conflicts: [] });

  // A line deleted from the file deletes the task.
  writeFileSync(tasksFile(), readTasksFile().replace(/- \[ \] T-\d+ Document the format[^\n]*\n  It lives in the README.\n/, ''));
  expect((await sync()).removed).toEqual([b.id]);
  expect(await failure(getTask(b.id))).toMatchObject({ code: 'NOT_FOUND' });
});

test('a task changed on both sides is a conflict: the database keeps its version, the file’s is kept as a note and reported', async () => {
  const t = await req<TaskV1>('orchestrator.task.create', { title: 'Pick a name', projectId: project.id });
  await waitFor('the task in the file', () => readTasksFile().includes(`${t.id} Pick a name`));
  await sync(); // settle: file and database agree

  writeFileSync(tasksFile(), readTasksFile().replace(`${t.id} Pick a name`, `${t.id} Name chosen in the file`));
  await req('orchestrator.task.update', { taskId: t.id, title: 'Name chosen through the API' }); // schedules a sync
  await waitFor('task.conflict', () => client.facts.some((f) => f.name === 'task.conflict' && f.payload.taskId === t.id));
  const conflict = client.facts.find((f) => f.name === 'task.conflict' && f.payload.taskId === t.id)!.payload;
  expect(conflict).toMatchObject({ fields: ['title'], database: { title: 'Name chosen through the API' }, file: { title: 'Name chosen in the file' }, projectId: project.id });
  const kept = await getTask(t.id);
  expect(kept.title).toBe('Name chosen through the API');
  expect(kept.notes.at(-1)).toMatchObject({ author: 'sync', text: expect.stringContaining('Name chosen in the file') });
  await waitFor('the file to carry the database version and the conflict note', () => {
    const f = readTasksFile();
    return f.includes(`${t.id} Name chosen through the API`) && f.includes('conflict: TASKS.md had title="Name chosen in the file"');
  });
});

test('a TASKS.md a person wrote (headings, prose, nested lists, every task form, CRLF) survives sync with only the task lines it changed differing', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'orch-corpus-'));
  try {
    const p = await req<ProjectV1>('orchestrator.project.create', { name: 'tasks-corpus', source: { path: folder } });
    const file = path.join(folder, 'docs', 'TASKS.md');
    const syncIt = () => req<{ imported: string[]; removed: string[]; exported: boolean }>('orchestrator.task.sync', { projectId: p.id });
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, tasksCorpus(() => ''));

    // Every item is a new task; the file changes only by the ids written into their lines.
    const first = await syncIt();
    expect(first.imported).toHaveLength(8);
    const ids = first.imported;
    const withIds = tasksCorpus((n) => `${ids[n - 1]} `);
    expect(readFileSync(file, 'utf8')).toBe(withIds);
    expect(await syncIt()).toMatchObject({ imported: [], removed: [], exported: false });
    expect(await getTask(ids[0]!)).toMatchObject({ title: 'Dash task', owner: 'ann', description: 'Its description,\non two lines.', notes: [{ author: 'ann', text: 'a tab-indented note' }] });
    expect(await getTask(ids[3]!)).toMatchObject({ title: 'Plus task', status: 'blocked' });
    expect(await getTask(ids[6]!)).toMatchObject({ title: 'Ordered with a parenthesis', status: 'todo' });

    // Changes through the API: a status, a deletion, a new task; only their lines differ after the sync.
    await req('orchestrator.task.update', { taskId: ids[2], status: 'review' });
    await req('orchestrator.task.delete', { taskId: ids[5] });
    const added = await req<TaskV1>('orchestrator.task.create', { title: 'Made through the API', projectId: p.id });
    await syncIt();
    const expected = withIds
      .replace(`* [X] ${ids[2]} Star with a capital X\r\n`, `* [ ] ${ids[2]} Star with a capital X (status: review)\r\n`)
      .replace(`2. [x] ${ids[5]} Ordered done\r\n`, '')
      .replace(`> - [ ] ${ids[7]} Quoted task\r\n`, `> - [ ] ${ids[7]} Quoted task\r\n> - [ ] ${added.id} Made through the API\r\n`);
    await waitFor('the file to follow the API', () => readFileSync(file, 'utf8') === expected);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
