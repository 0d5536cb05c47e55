import type { TaskNoteV1, TaskStatusV1 } from '@codeagent/contracts';
import type { ListItem, Nodes } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import type { TaskFields } from './task';

// TASKS.md, the human side of the task list. The format (documented in the README and in the file's
// own header) is one task per GitHub task-list item, whatever its marker (`-`, `*`, `+`, `1.`, `1)`)
// and however deep it is nested:
//
//   - [ ] T-12 Write the parser (status: in_progress, owner: ann)
//     Indented lines are the description.
//     - note 2026-11-21T19:00:00.000Z ann: progress notes, oldest first
//
// `[x]` means done. An item without an id is a new task. Everything else in the file (headings, prose,
// plain lists, code) belongs to the person who wrote it: it is never read as tasks and, since the file
// is written back by editing the task items in place (rewrite.ts), never changed.

export interface ParsedTask extends TaskFields {
  /** Absent for a task someone just typed. */
  id?: string;
  notes: TaskNoteV1[];
  /** 1-based line of the item, for messages. */
  line: number;
}

/** A task item and where its parts are in the file's text, for editing it in place. */
export interface TaskItem {
  task: ParsedTask;
  /** Offset of the checkbox's `[`: the item's first line from here to its end is the task's own. */
  headStart: number;
  /** 0-based line of the checkbox. */
  headLine: number;
  /** 0-based lines after the first that hold the description (nested task items excluded). */
  descLines: number[];
  /** 0-based lines holding the task's notes. */
  noteLines: number[];
  /** 0-based last line of the item, nested items included. */
  lastLine: number;
  /** What starts a line inside the item: the first line's text before the checkbox, blanked. */
  indent: string;
  /** The item's list marker as written (`-`, `*`, `+`, `3.`, `3)`), and what is before it on its line. */
  marker: string;
  prefix: string;
  /** Nested inside another task item. */
  nested: boolean;
}

export interface Line {
  start: number;
  /** End of the text, before the line break. */
  end: number;
  /** Start of the next line (after the line break). */
  next: number;
}

export interface TasksDocument {
  text: string;
  lines: Line[];
  /** The file's own line break, used for every line written into it. */
  eol: '\n' | '\r\n';
  items: TaskItem[];
  tasks: ParsedTask[];
  /** What could not be read, by line, for the log. */
  problems: string[];
}

export const STATUSES: readonly TaskStatusV1[] = ['todo', 'in_progress', 'blocked', 'review', 'done', 'cancelled'];
// Within the text after the checkbox (the library finds the items): an optional id, the title, the tags.
const HEAD = /^(?:(T-\d+)(?:\s+|$))?(.*?)\s*$/;
const META = /\s+\(((?:\s*[a-z_]+:\s*[^,()]+,?)+)\)$/;
const NOTE = /^note (\S+)(?: ([^:]+))?: (.*)$/;
const TAB_WIDTH = 4;

export const HEADER = `# Tasks

<!-- Synced both ways with codeagent's task list. One task per list item:
       - [ ] T-12 Title (status: in_progress, owner: ann)
     [x] means done; statuses: ${STATUSES.join(', ')}. Indented lines under a task are its
     description; "  - note <time> <author>: <text>" lines are progress notes. A line without an id
     is a new task; deleting a line deletes the task. Everything else in this file is left as it is. -->
`;

const markdown = unified().use(remarkParse).use(remarkGfm);

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      if (start < text.length) lines.push({ start, end: text.length, next: text.length });
      break;
    }
    lines.push({ start, end: nl > start && text[nl - 1] === '\r' ? nl - 1 : nl, next: nl + 1 });
    start = nl + 1;
  }
  return lines;
}

/** Removes up to `columns` columns of leading whitespace (a tab reaches the next multiple of 4). */
export function dedent(line: string, columns: number): string {
  let col = 0;
  let i = 0;
  while (i < line.length && col < columns && (line[i] === ' ' || line[i] === '\t')) {
    col = line[i] === '\t' ? col + TAB_WIDTH - (col % TAB_WIDTH) : col + 1;
    i++;
  }
  return line.slice(i);
}

const columnsOf = (s: string) => [...s].reduce((col, c) => (c === '\t' ? col + TAB_WIDTH - (col % TAB_WIDTH) : col + 1), 0);

/** Every line from `first` to `last` (0-based, inclusive). */
const range = (first: number, last: number) => Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);

export function parseTasks(text: string): TasksDocument {
  const lines = splitLines(text);
  const doc: TasksDocument = { text, lines, eol: text.includes('\r\n') ? '\r\n' : '\n', items: [], tasks: [], problems: [] };
  const seen = new Set<string>();
  const lineText = (i: number) => text.slice(lines[i]!.start, lines[i]!.end);

  const readItem = (item: ListItem, nested: boolean): TaskItem | undefined => {
    const first = item.children[0];
    const start = item.position!.start;
    const headLine = start.line - 1;
    if (first?.type !== 'paragraph' || first.position!.start.line !== start.line) return undefined;
    const headStart = text.lastIndexOf('[', first.position!.start.offset!);
    const m = HEAD.exec(text.slice(first.position!.start.offset!, lines[headLine]!.end))!;
    let title = m[2] ?? '';
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
      doc.problems.push(`line ${start.line}: a task without a title is ignored`);
      return undefined;
    }
    if (m[1] && seen.has(m[1])) {
      doc.problems.push(`line ${start.line}: ${m[1]} appears again; only its first item is read`);
      return undefined;
    }
    if (m[1]) seen.add(m[1]);
    let status = (meta.status as TaskStatusV1 | undefined) ?? (item.checked ? 'done' : 'todo');
    if (!STATUSES.includes(status)) {
      doc.problems.push(`line ${start.line}: unknown status "${meta.status}", read as todo`);
      status = 'todo';
    }
    // A box someone ticked or unticked wins over the status tag it was written with.
    if (item.checked && status !== 'done' && status !== 'cancelled') status = 'done';
    if (!item.checked && (status === 'done' || status === 'cancelled') && meta.status === 'done') status = 'todo';

    const head = lineText(headLine);
    const indentText = head.slice(0, headStart - lines[headLine]!.start).replace(/[^\t>]/g, ' ');
    const columns = columnsOf(indentText.replace(/>/g, ' '));
    const lastLine = item.position!.end.line - 1;
    // The item's lines are its own, except those of the task items and notes nested in it.
    const taken = new Set<number>();
    const noteLines: number[] = [];
    const notes: TaskNoteV1[] = [];
    const visit = (node: Nodes) => {
      if (node.type === 'listItem' && node !== item) {
        const lns = range(node.position!.start.line - 1, node.position!.end.line - 1);
        if (typeof node.checked === 'boolean') {
          for (const l of lns) taken.add(l);
          return;
        }
        const p = node.children[0];
        const n = lns.length === 1 && p?.type === 'paragraph' ? NOTE.exec(text.slice(p.position!.start.offset!, p.position!.end.offset!)) : null;
        if (n) {
          notes.push({ at: n[1]!, ...(n[2] ? { author: n[2] } : {}), text: n[3]! });
          noteLines.push(lns[0]!);
          taken.add(lns[0]!);
          return;
        }
      }
      if ('children' in node) for (const c of node.children) visit(c);
    };
    visit(item);
    const descLines = range(headLine + 1, lastLine).filter((l) => !taken.has(l));
    const description = descLines
      .map((l) => dedent(lineText(l).replace(/^[\s>]*/, (lead) => lead.replace(/>/g, ' ')), columns))
      .join('\n')
      .trim();
    const task: ParsedTask = { ...(m[1] ? { id: m[1] } : {}), title, status, ...(meta.owner ? { owner: meta.owner } : {}), ...(description ? { description } : {}), notes, line: start.line };
    const marker = /^([-*+]|\d{1,9}[.)])/.exec(text.slice(start.offset!))?.[1] ?? '-';
    const prefix = text.slice(lines[headLine]!.start, start.offset!);
    return { task, headStart, headLine, descLines, noteLines, lastLine, indent: indentText, marker, prefix, nested };
  };

  const walk = (node: Nodes, nested: boolean) => {
    let inTask = nested;
    if (node.type === 'listItem' && typeof node.checked === 'boolean') {
      const item = readItem(node, nested);
      if (item) {
        doc.items.push(item);
        doc.tasks.push(item.task);
      }
      inTask = true;
    }
    if ('children' in node) for (const c of node.children) walk(c, inTask);
  };
  walk(markdown.parse(text), false);
  return doc;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

/** The part of a task's first line from the checkbox on. */
export function renderHead(t: TaskFields & { id: string }): string {
  const box = t.status === 'done' || t.status === 'cancelled' ? 'x' : ' ';
  const meta = [...(t.status !== 'todo' && t.status !== 'done' ? [`status: ${t.status}`] : []), ...(t.owner ? [`owner: ${t.owner.replace(/[,()]/g, ' ')}`] : [])];
  return `[${box}] ${t.id} ${oneLine(t.title)}${meta.length ? ` (${meta.join(', ')})` : ''}`;
}

export const renderDescription = (description: string | undefined, indent: string): string[] => (description ? description.split('\n').map((l) => (l ? `${indent}${l}` : '')) : []);

export const renderNote = (n: TaskNoteV1, indent: string): string => `${indent}- note ${n.at}${n.author ? ` ${n.author.replace(/:/g, ' ')}` : ''}: ${oneLine(n.text)}`;

/** A whole task item, for a task the file does not have yet. */
export function renderItem(t: TaskFields & { id: string; notes: TaskNoteV1[] }, marker = '-', prefix = ''): string[] {
  const indent = prefix + ' '.repeat(marker.length + 1);
  return [`${prefix}${marker} ${renderHead(t)}`, ...renderDescription(t.description, indent), ...t.notes.map((n) => renderNote(n, indent))];
}

/** A new TASKS.md: the header and every task. */
export function renderTasks(tasks: Array<TaskFields & { id: string; notes: TaskNoteV1[] }>): string {
  return [HEADER, ...tasks.flatMap((t) => renderItem(t))].join('\n') + '\n';
}
