import type { TaskNoteV1 } from '@codeagent/contracts';
import { renderDescription, renderHead, renderItem, renderNote, type ParsedTask, type TaskItem, type TasksDocument } from './markdown';
import type { TaskFields } from './task';

type Row = TaskFields & { id: string; notes: TaskNoteV1[] };

interface Edit {
  start: number;
  end: number;
  text: string;
}

const same = (a: unknown, b: unknown) => (a ?? '') === (b ?? '');
const noteKey = (n: TaskNoteV1) => `${n.at}\u0000${n.text}`;

/**
 * TASKS.md brought in line with the database by editing the task items where the parse found them:
 * a task whose fields changed gets its first line (from the checkbox on) or its description lines
 * rewritten, missing notes are added under it, a deleted task loses its own lines (not those of task
 * items nested in it), and tasks the file lacks are added after its last top-level task item. Every
 * other byte of the file is kept, line breaks included.
 *
 * `created` gives the id the database gave to each item that had none (or an unknown one).
 */
export function rewriteTasks(doc: TasksDocument, tasks: Row[], created: Map<ParsedTask, string>): string {
  const { text, lines, eol } = doc;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const written = new Set<string>();
  const edits: Edit[] = [];
  const dropLine = (l: number) => edits.push({ start: lines[l]!.start, end: lines[l]!.next, text: '' });
  // After line `l`: a file whose last line has no break gets one first.
  const insertAfter = (l: number, newLines: string[]) => {
    const line = lines[l]!;
    const open = line.next === line.end;
    edits.push({ start: line.next, end: line.next, text: (open ? eol : '') + newLines.join(eol) + (open ? '' : eol) });
  };

  for (const item of doc.items) {
    const id = created.get(item.task) ?? item.task.id;
    const t = id === undefined ? undefined : byId.get(id);
    if (!t || written.has(t.id)) {
      for (const l of [item.headLine, ...item.descLines, ...item.noteLines]) dropLine(l);
      continue;
    }
    written.add(t.id);
    const f = item.task;
    if (f.id !== t.id || f.title !== t.title || f.status !== t.status || !same(f.owner, t.owner)) {
      // The box as the person wrote it (`[X]`) when its meaning did not change.
      const head = renderHead(t);
      const box = text[item.headStart + 1]!;
      edits.push({ start: item.headStart, end: lines[item.headLine]!.end, text: box.toLowerCase() === head[1] ? `[${box}${head.slice(2)}` : head });
    }
    if (!same(f.description, t.description)) {
      for (const l of item.descLines) dropLine(l);
      const desc = renderDescription(t.description, item.indent);
      if (desc.length) insertAfter(item.headLine, desc);
    }
    const known = new Set(f.notes.map(noteKey));
    const missing = t.notes.filter((n) => !known.has(noteKey(n)));
    if (missing.length) insertAfter(item.lastLine, missing.map((n) => renderNote(n, item.indent)));
  }

  const rest = tasks.filter((t) => !written.has(t.id));
  if (rest.length) {
    const last = doc.items.filter((i) => !i.nested).at(-1);
    if (last) {
      const ordinal = /^(\d+)([.)])$/.exec(last.marker);
      const marker = (i: number) => (ordinal ? `${Number(ordinal[1]) + 1 + i}${ordinal[2]}` : last.marker);
      insertAfter(
        last.lastLine,
        rest.flatMap((t, i) => renderItem(t, marker(i), last.prefix)),
      );
    } else {
      // No task list yet: one after everything, apart from any prose before it.
      const lastLine = lines.at(-1);
      const blank = !lastLine || text.slice(lastLine.start, lastLine.end).trim() === '';
      const added = [...(blank ? [] : ['']), ...rest.flatMap((t) => renderItem(t))];
      if (lastLine) insertAfter(lines.length - 1, added);
      else edits.push({ start: 0, end: 0, text: added.join(eol) + eol });
    }
  }

  // Edits never overlap; those at one offset apply in the order they were made.
  const ordered = edits.map((e, i) => ({ ...e, i })).sort((a, b) => a.start - b.start || a.i - b.i);
  let out = '';
  let at = 0;
  for (const e of ordered) {
    out += text.slice(at, e.start) + e.text;
    at = Math.max(at, e.end);
  }
  return out + text.slice(at);
}
