/** GET /api/v1/sessions/:id/diff. */
export interface SessionDiff {
  sessionId: string;
  from: string;
  added: string[];
  changed: string[];
  removed: string[];
  /** Unified diff of every file listed, in path order. */
  patch: string;
  truncated?: boolean;
}

export type FileChange = 'added' | 'changed' | 'removed';

export interface FileDiff {
  path: string;
  change: FileChange;
  /** This file's part of the patch (empty when the patch was cut before it). */
  text: string;
  additions: number;
  deletions: number;
}

/**
 * One entry per file the diff lists, with its part of the unified patch. The workspace service writes
 * exactly one part per file, in the order of the sorted paths, each starting with a line no hunk line
 * can start with (the `diff` package's `====` rule, or `diff ` / `Binary files ` for files it does not
 * diff as text), so the n-th part belongs to the n-th path; a cut (truncated) patch leaves the last
 * files without one.
 */
export function splitDiff(d: Pick<SessionDiff, 'added' | 'changed' | 'removed' | 'patch'>): FileDiff[] {
  const parts = splitParts(d.patch);
  const change = new Map<string, FileChange>();
  for (const p of d.added) change.set(p, 'added');
  for (const p of d.changed) change.set(p, 'changed');
  for (const p of d.removed) change.set(p, 'removed');
  return [...change.keys()].sort().map((path, i) => {
    const text = parts[i] ?? '';
    let additions = 0;
    let deletions = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('+') && !line.startsWith('+++ ')) additions++;
      else if (line.startsWith('-') && !line.startsWith('--- ')) deletions++;
    }
    return { path, change: change.get(path)!, text, additions, deletions };
  });
}

const PART_START = /^(={20,}$|diff |Binary files )/;

function splitParts(patch: string): string[] {
  const parts: string[] = [];
  let cur: string[] = [];
  const lines = patch.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (PART_START.test(line) && cur.length > 0) {
      parts.push(cur.join('\n') + '\n');
      cur = [];
    }
    cur.push(line);
  }
  if (cur.length) parts.push(cur.join('\n') + '\n');
  return parts;
}

/** How to colour one line of a unified diff. */
export function lineKind(line: string): 'add' | 'del' | 'hunk' | 'meta' | 'context' {
  if (line.startsWith('+++ ') || line.startsWith('--- ') || PART_START.test(line) || line.startsWith('Large file ') || line.startsWith('mode ')) return 'meta';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return 'context';
}
