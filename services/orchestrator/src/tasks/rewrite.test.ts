import type { TaskNoteV1 } from '@codeagent/contracts';
import { parseTasks } from './markdown';
import { rewriteTasks } from './rewrite';
import type { TaskFields } from './task';
import { tasksCorpus } from '../../test/tasks-corpus';

type Row = TaskFields & { id: string; notes: TaskNoteV1[] };

const CORPUS = tasksCorpus((n) => `T-${n} `);

const note = (at: string, text: string, author?: string): TaskNoteV1 => ({ at, text, ...(author ? { author } : {}) });

describe('TASKS.md read with remark (GFM task lists) and written back in place', () => {
  test('every task form is read, with descriptions, notes and statuses; code, tables and plain items are not tasks', () => {
    const doc = parseTasks(CORPUS);
    expect(doc.problems).toEqual([]);
    expect(doc.eol).toBe('\r\n');
    expect(doc.tasks.map((t) => [t.id, t.status, t.title])).toEqual([
      ['T-1', 'todo', 'Dash task'],
      ['T-2', 'done', 'Nested done task'],
      ['T-3', 'done', 'Star with a capital X'],
      ['T-4', 'blocked', 'Plus task'],
      ['T-5', 'todo', 'Ordered with a dot'],
      ['T-6', 'done', 'Ordered done'],
      ['T-7', 'todo', 'Ordered with a parenthesis'],
      ['T-8', 'todo', 'Quoted task'],
    ]);
    expect(doc.tasks[0]).toMatchObject({ owner: 'ann', description: 'Its description,\non two lines.', notes: [note('2026-11-21T19:00:00.000Z', 'a tab-indented note', 'ann')], line: 7 });
    expect(doc.tasks[1]).toMatchObject({ description: '- a plain sub-point, not a task', notes: [] });
  });

  test('nothing changed: the file is written back byte for byte', () => {
    const doc = parseTasks(CORPUS);
    const rows = doc.tasks.map(({ line: _line, ...t }) => ({ ...t, id: t.id! }));
    expect(rewriteTasks(doc, rows, new Map())).toBe(CORPUS);
  });

  test('changed tasks change only their own lines; a new task follows the last list in its style; the rest is untouched', () => {
    const typed = `${CORPUS}- [ ] Typed by hand (owner: bob)\r\n`;
    const doc = parseTasks(typed);
    const rows: Row[] = doc.tasks.filter((t) => t.id).map(({ line: _line, ...t }) => ({ ...t, id: t.id! }));
    const byId = (id: string) => rows.find((r) => r.id === id)!;
    byId('T-1').notes = [...byId('T-1').notes, note('2026-11-22T08:00:00.000Z', 'added through the API', 'carl')];
    byId('T-3').status = 'in_progress';
    byId('T-5').description = 'Now with a description.';
    byId('T-2').title = 'Nested task, renamed';
    rows.splice(rows.indexOf(byId('T-6')), 1); // deleted in the database
    rows.push({ id: 'T-9', title: 'Typed by hand', owner: 'bob', status: 'todo', notes: [] });
    rows.push({ id: 'T-10', title: 'Made through the API', status: 'review', notes: [] });
    const created = new Map([[doc.tasks.find((t) => !t.id)!, 'T-9']]);

    const lines = CORPUS.split('\r\n');
    const at = (text: string) => lines.indexOf(text);
    const expected = [...lines];
    expected[at('* [X] T-3 Star with a capital X')] = '* [ ] T-3 Star with a capital X (status: in_progress)';
    expected[at('  - [x] T-2 Nested done task')] = '  - [x] T-2 Nested task, renamed';
    expected.splice(at('  - [x] T-2 Nested done task') + 2, 0, '  - note 2026-11-22T08:00:00.000Z carl: added through the API');
    expected.splice(expected.indexOf('2. [x] T-6 Ordered done'), 1);
    expected.splice(expected.indexOf('1. [ ] T-5 Ordered with a dot') + 1, 0, '   Now with a description.');
    // The typed item is the last top-level one: it gets its id, and the new task follows it.
    expected.splice(expected.length - 1, 0, '- [ ] T-9 Typed by hand (owner: bob)', '- [ ] T-10 Made through the API (status: review)');

    expect(rewriteTasks(doc, rows, created).split('\r\n')).toEqual(expected);
  });

  test('new tasks follow the last top-level task item in its marker and its quote', () => {
    const doc = parseTasks(CORPUS);
    const rows = [...doc.tasks.map(({ line: _l, ...t }) => ({ ...t, id: t.id! })), { id: 'T-10', title: 'After the quote', status: 'todo' as const, notes: [] }];
    expect(rewriteTasks(doc, rows, new Map())).toBe(CORPUS.replace('> - [ ] T-8 Quoted task\r\n', '> - [ ] T-8 Quoted task\r\n> - [ ] T-10 After the quote\r\n'));
  });

  test('a file without a trailing line break, and one with no task yet, get their tasks without losing a byte', () => {
    const bare = '# Notes\n\nJust prose.';
    expect(rewriteTasks(parseTasks(bare), [{ id: 'T-1', title: 'First', status: 'todo', notes: [] }], new Map())).toBe('# Notes\n\nJust prose.\n\n- [ ] T-1 First');
    const ordered = '1) [ ] T-1 One\n2) [ ] T-2 Two';
    const doc = parseTasks(ordered);
    const rows = [...doc.tasks.map(({ line: _l, ...t }) => ({ ...t, id: t.id! })), { id: 'T-3', title: 'Three', status: 'todo' as const, notes: [] }];
    expect(rewriteTasks(doc, rows, new Map())).toBe('1) [ ] T-1 One\n2) [ ] T-2 Two\n3) [ ] T-3 Three');
  });

  test('a deleted task loses its own lines but not the task items nested in it', () => {
    const text = '- [ ] T-1 Parent\n  Parent text.\n  - note 2026-11-21T19:00:00.000Z: n\n  - [ ] T-2 Child\n- [ ] T-3 Next\n';
    const doc = parseTasks(text);
    const rows = doc.tasks.filter((t) => t.id !== 'T-1').map(({ line: _l, ...t }) => ({ ...t, id: t.id! }));
    expect(rewriteTasks(doc, rows, new Map())).toBe('  - [ ] T-2 Child\n- [ ] T-3 Next\n');
    expect(parseTasks('  - [ ] T-2 Child\n- [ ] T-3 Next\n').tasks.map((t) => t.id)).toEqual(['T-2', 'T-3']);
  });
});
