import { createTwoFilesPatch } from 'diff';
import { isBinary } from '../files/binary';
import type { Manifest, ManifestEntry } from './manifest';

export interface TreeDiff {
  added: string[];
  changed: string[];
  removed: string[];
  patch: string;
  /** Whether the patch was cut at its size cap. */
  truncated: boolean;
}

/** Where the bytes of one side come from (the blob store, or the live tree). */
export type ContentSource = (e: ManifestEntry) => Promise<Buffer>;

const MAX_FILE_FOR_PATCH = 1024 * 1024;

/**
 * Files (and symlinks) added, changed and removed from `from` to `to`, with a unified diff of the
 * text files among them. Folders are not listed: they follow from their files.
 */
export async function diffManifests(
  from: Manifest,
  to: Manifest,
  read: { from: ContentSource; to: ContentSource },
  opts: { maxPatchBytes?: number } = {},
): Promise<TreeDiff> {
  const maxPatch = opts.maxPatchBytes ?? 4 * 1024 * 1024;
  const a = new Map(from.entries.filter((e) => e.type !== 'dir').map((e) => [e.path, e]));
  const b = new Map(to.entries.filter((e) => e.type !== 'dir').map((e) => [e.path, e]));
  const added = [...b.keys()].filter((p) => !a.has(p));
  const removed = [...a.keys()].filter((p) => !b.has(p));
  const changed = [...b.keys()].filter((p) => a.has(p) && (a.get(p)!.hash !== b.get(p)!.hash || a.get(p)!.type !== b.get(p)!.type || a.get(p)!.mode !== b.get(p)!.mode));

  const parts: string[] = [];
  let size = 0;
  let truncated = false;
  const all = [...new Set([...added, ...changed, ...removed])].sort();
  for (const p of all) {
    if (size >= maxPatch) {
      truncated = true;
      break;
    }
    const x = a.get(p);
    const y = b.get(p);
    const text = await patchOf(p, x, y, read);
    parts.push(text);
    size += text.length;
  }
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort(), patch: parts.join(''), truncated };
}

async function patchOf(p: string, x: ManifestEntry | undefined, y: ManifestEntry | undefined, read: { from: ContentSource; to: ContentSource }): Promise<string> {
  const oldName = x ? `a/${p}` : '/dev/null';
  const newName = y ? `b/${p}` : '/dev/null';
  if ((x && x.type === 'file' && x.size > MAX_FILE_FOR_PATCH) || (y && y.type === 'file' && y.size > MAX_FILE_FOR_PATCH)) {
    return `diff ${oldName} ${newName}\nLarge file differs (over ${MAX_FILE_FOR_PATCH} bytes)\n`;
  }
  const left = x ? await content(x, read.from) : Buffer.alloc(0);
  const right = y ? await content(y, read.to) : Buffer.alloc(0);
  if (isBinary(left) || isBinary(right)) return `Binary files ${oldName} and ${newName} differ\n`;
  if (x && y && left.equals(right)) return `diff ${oldName} ${newName}\nmode ${x.mode.toString(8)} -> ${y.mode.toString(8)}\n`;
  return createTwoFilesPatch(oldName, newName, left.toString('utf8'), right.toString('utf8'));
}

async function content(e: ManifestEntry, read: ContentSource): Promise<Buffer> {
  if (e.type === 'symlink') return Buffer.from(`${e.target ?? ''}\n`);
  return read(e);
}
