import type { TaskConflictV1, TaskNoteV1 } from '@codeagent/contracts';
import type { ParsedTask } from './markdown';
import { FIELD_NAMES, fieldsOf, type Task, type TaskFields } from './task';

export interface SyncPlan {
  /** Tasks typed into the file (no id, or an id the database never had). */
  create: ParsedTask[];
  /** Changes made in the file to apply to the database. */
  update: Array<{ id: string; patch: Partial<TaskFields>; addNotes: TaskNoteV1[] }>;
  /** Tasks deleted from the file, unchanged in the database since the last sync. */
  remove: string[];
  /** Changed on both sides: the database keeps its version; reported, never silently lost. */
  conflicts: TaskConflictV1[];
}

const same = (a: unknown, b: unknown) => (a ?? '') === (b ?? '');
const noteKey = (n: TaskNoteV1) => `${n.at}\u0000${n.text}`;

function diffFields(a: TaskFields, b: TaskFields): string[] {
  return FIELD_NAMES.filter((f) => !same(a[f], b[f]));
}

function pick(t: TaskFields, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, t[f as keyof TaskFields] ?? null]));
}

/**
 * The three-way merge of TASKS.md with the database, field by field, against `base` (what both
 * agreed on at the last sync): a field changed on one side only takes that side's value; changed on
 * both to different values is a conflict. Notes only ever grow: the file's new ones are added.
 */
export function planSync(db: Task[], file: ParsedTask[], base: Map<string, TaskFields>): SyncPlan {
  const plan: SyncPlan = { create: [], update: [], remove: [], conflicts: [] };
  const dbById = new Map(db.map((t) => [t.id, t]));
  const inFile = new Set<string>();

  for (const f of file) {
    const d = f.id ? dbById.get(f.id) : undefined;
    if (!f.id || (!d && !base.has(f.id))) {
      plan.create.push(f);
      continue;
    }
    inFile.add(f.id);
    const b = base.get(f.id);
    if (!d) {
      // Deleted in the database since the last sync. Unchanged in the file: the deletion stands.
      const changed = b ? diffFields(b, f) : FIELD_NAMES.slice();
      if (changed.length) plan.conflicts.push({ taskId: f.id, fields: ['deleted', ...changed], database: { deleted: true }, file: pick(f, changed) });
      continue;
    }
    const patch: Partial<TaskFields> = {};
    const conflicted: string[] = [];
    for (const field of FIELD_NAMES) {
      const fv = f[field];
      const dv = d[field];
      if (same(fv, dv)) continue;
      if (b && same(fv, b[field])) continue; // only the database changed it
      if (b && same(dv, b[field])) (patch as Record<string, unknown>)[field] = fv ?? undefined;
      else conflicted.push(field);
    }
    if (conflicted.length) plan.conflicts.push({ taskId: d.id, fields: conflicted, database: pick(d, conflicted), file: pick(f, conflicted) });
    const known = new Set(d.notes.map(noteKey));
    const addNotes = f.notes.filter((n) => !known.has(noteKey(n)));
    if (Object.keys(patch).length || addNotes.length) plan.update.push({ id: d.id, patch, addNotes });
  }

  for (const d of db) {
    if (inFile.has(d.id) || !base.has(d.id)) continue; // new in the database: the file gets it
    const changed = diffFields(base.get(d.id)!, fieldsOf(d));
    if (changed.length === 0) plan.remove.push(d.id);
    else plan.conflicts.push({ taskId: d.id, fields: ['deleted', ...changed], database: pick(d, changed), file: { deleted: true } });
  }
  return plan;
}
