import type { TaskNoteV1, TaskStatusV1 } from '@codeagent/contracts';
import type { TaskFields } from './task';

// TASKS.md, the human side of the task list. The format (documented in the README and in the file's
// own header) is one task per list item:
//
//   - [ ] T-12 Write the parser (status: in_progress, owner: ann)
//     Indented lines are the description.
//     - note 2026-11-21T19:00:00.000Z ann: progress notes, oldest first
//
// `[x]` means done. A line without an id is a new task. Lines that are not list items are kept out.

export interface ParsedTask extends TaskFields {
  /** Absent for a task someone just typed. */
  id?: string;
  notes: TaskNoteV1[];
  /** 1-based line of the item, for messages. */
  line: number;
}

const STATUSES: readonly TaskStatusV1[] = ['todo', 'in_progress', 'blocked', 'review', 'done', 'cancelled'];
const ITEM = /^[-*] \[( |x|X)\]\s+(?:(T-\d+)\s+)?(.*?)\s*$/;
const META = /\s+\(((?:\s*[a-z_]+:\s*[^,()]+,?)+)\)$/;
const NOTE = /^\s{2,}- note (\S+)(?: ([^:]+))?: (.*)$/;

export const HEADER = `# Tasks

<!-- Synced both ways with codeagent's task list. One task per line:
       - [ ] T-12 Title (status: in_progress, owner: ann)
     [x] means done; statuses: ${STATUSES.join(', ')}. Indented lines under a task are its
     description; "  - note <time> <author>: <text>" lines are progress notes. A line without an id
     is a new task; deleting a line deletes the task. -->
`;

export function parseTasks(text: string): { tasks: ParsedTask[]; problems: string[] } {
  const tasks: ParsedTask[] = [];
  const problems: string[] = [];
  let current: (ParsedTask & { desc: string[] }) | undefined;
  const finish = () => {
    if (!current) return;
    const { desc, ...t } = current;
    const d = desc.join('\n').trim();
    tasks.push({ ...t, ...(d ? { description: d } : {}) });
    current = undefined;
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const m = ITEM.exec(raw);
    if (m) {
      finish();
      let title = m[3] ?? '';
      const meta: Record<string, string> = {};
      const mm = META.exec(title);
      if (mm) {
        for (const part of mm[1]!.split(',')) {
          const [k, ...v] = part.split(':');
          if (k && v.length) meta[k.trim()] = v.join(':').trim();
        }
        title = title.slice(0, mm.index).trim();
      }
      if (!title) {
        problems.push(`line ${i + 1}: a task without a title is ignored`);
        return;
      }
      let status = (meta.status as TaskStatusV1 | undefined) ?? (m[1] === ' ' ? 'todo' : 'done');
      if (!STATUSES.includes(status)) {
        problems.push(`line ${i + 1}: unknown status "${meta.status}", read as todo`);
        status = 'todo';
      }
      // A box someone ticked or unticked wins over the status tag it was written with.
      if (m[1] !== ' ' && status !== 'done' && status !== 'cancelled') status = 'done';
      if (m[1] === ' ' && (status === 'done' || status === 'cancelled') && meta.status === 'done') status = 'todo';
      current = { ...(m[2] ? { id: m[2] } : {}), title, status, ...(meta.owner ? { owner: meta.owner } : {}), notes: [], line: i + 1, desc: [] };
      return;
    }
    if (!current) return;
    const n = NOTE.exec(raw);
    if (n) {
      current.notes.push({ at: n[1]!, ...(n[2] ? { author: n[2] } : {}), text: n[3]! });
      return;
    }
    if (/^\s{2,}\S/.test(raw)) current.desc.push(raw.replace(/^\s{2}/, ''));
    else if (raw.trim() === '') current.desc.push('');
    else finish();
  });
  finish();
  return { tasks, problems };
}

export function renderTasks(tasks: Array<TaskFields & { id: string; notes: TaskNoteV1[] }>): string {
  const lines = [HEADER];
  for (const t of tasks) {
    const box = t.status === 'done' || t.status === 'cancelled' ? 'x' : ' ';
    const meta = [
      ...(t.status !== 'todo' && t.status !== 'done' ? [`status: ${t.status}`] : []),
      ...(t.owner ? [`owner: ${t.owner.replace(/[,()]/g, ' ')}`] : []),
    ];
    lines.push(`- [${box}] ${t.id} ${t.title.replace(/\s*\n\s*/g, ' ')}${meta.length ? ` (${meta.join(', ')})` : ''}`);
    if (t.description) for (const l of t.description.split('\n')) lines.push(l ? `  ${l}` : '');
    for (const n of t.notes) lines.push(`  - note ${n.at}${n.author ? ` ${n.author.replace(/:/g, ' ')}` : ''}: ${n.text.replace(/\s*\n\s*/g, ' ')}`);
  }
  return lines.join('\n') + '\n';
}
