import type { TaskNoteV1 } from '@codeagent/contracts';
import { parseTasks, renderTasks, type ParsedTask } from './markdown';
import type { TaskFields } from './task';

type Row = TaskFields & { id: string; notes: TaskNoteV1[] };
const strip = ({ line: _line, ...t }: ParsedTask) => t;

describe('TASKS.md', () => {
  const tasks: Row[] = [
    { id: 'T-1', title: 'Write the parser', status: 'in_progress', owner: 'ann', notes: [{ at: '2026-11-21T19:00:00.000Z', author: 'ann', text: 'half done' }] },
    { id: 'T-2', title: 'Ship it', status: 'done', description: 'First line.\n\n  indented second paragraph', notes: [] },
    { id: 'T-3', title: 'Drop IE', status: 'cancelled', notes: [{ at: '2026-11-21T20:00:00.000Z', text: 'no author here' }] },
    { id: 'T-4', title: 'Wait for review', status: 'blocked', owner: 'bob', notes: [] },
    { id: 'T-5', title: 'Plain', status: 'todo', notes: [] },
  ];

  test('what is rendered parses back to the same tasks, field for field', () => {
    const { tasks: back, problems } = parseTasks(renderTasks(tasks));
    expect(problems).toEqual([]);
    expect(back.map(strip)).toEqual(tasks);
  });

  test('a person may tick a box, add a line without an id, and write a note; the header is not a task', () => {
    const text = renderTasks(tasks)
      .replace('- [ ] T-5 Plain', '- [x] T-5 Plain\n  - note 2026-11-22T08:00:00.000Z carl: finished on the train')
      .concat('- [ ] A new one typed by hand (owner: dana)\n');
    const { tasks: back } = parseTasks(text);
    expect(back).toHaveLength(6);
    expect(back[4]).toMatchObject({ id: 'T-5', status: 'done', notes: [{ at: '2026-11-22T08:00:00.000Z', author: 'carl', text: 'finished on the train' }] });
    expect(back[5]).toMatchObject({ title: 'A new one typed by hand', owner: 'dana', status: 'todo' });
    expect(back[5]!.id).toBeUndefined();
  });

  test('an unticked box with a done tag is todo again; an unknown status is reported and read as todo', () => {
    const { tasks: back, problems } = parseTasks('- [ ] T-9 Reopened (status: done)\n- [ ] T-10 Odd (status: someday)\n- [ ] T-11  \n');
    expect(back.map((t) => [t.id, t.status])).toEqual([
      ['T-9', 'todo'],
      ['T-10', 'todo'],
    ]);
    expect(problems).toEqual(['line 2: unknown status "someday", read as todo', 'line 3: a task without a title is ignored']);
  });
});
