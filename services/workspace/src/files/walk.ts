import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { openFileInside, PinnedTree } from './pinned';

export interface WalkEntry {
  rel: string;
  abs: string;
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  /** lstat of the entry, taken inside its pinned folder. */
  stat: Stats;
}

interface Scope {
  /** Folder (relative to the root) whose .gitignore this is. */
  base: string;
  ig: Ignore;
}

/**
 * Walks `start` (inside `root`, a real path) honouring every .gitignore on the way, as git does: a
 * file's rules apply below its folder, with paths relative to that folder. `.git` is always skipped.
 * Never follows symlinks: folders are listed and their entries stat'ed through pinned descriptors
 * (PinnedTree), so a folder a jailed process swaps for a link mid-walk shows nothing outside.
 */
export async function* walkTree(root: string, start: string, opts: { recursive: boolean; gitignore?: boolean }): AsyncGenerator<WalkEntry> {
  const pins = new PinnedTree(root);
  try {
    const scopes: Scope[] = [];
    if (opts.gitignore !== false) {
      // The rules of the folders above `start` apply to it too.
      const parts = start ? start.split('/') : [];
      for (let i = 0; i < parts.length; i++) await addScope(root, parts.slice(0, i).join('/'), scopes);
    }
    yield* walkDir(root, start, opts, scopes, pins);
  } finally {
    await pins.close();
  }
}

async function addScope(root: string, base: string, scopes: Scope[]): Promise<boolean> {
  const fh = await openFileInside(root, path.join(root, base, '.gitignore'), '.gitignore').catch(() => undefined);
  if (!fh) return false;
  try {
    const st = await fh.stat();
    if (st.size > 1024 * 1024) return false; // not a real .gitignore
    scopes.push({ base, ig: ignore().add(await fh.readFile('utf8')) });
    return true;
  } finally {
    await fh.close();
  }
}

function ignored(rel: string, isDir: boolean, scopes: Scope[]): boolean {
  for (const s of scopes) {
    const sub = s.base ? rel.slice(s.base.length + 1) : rel;
    if (sub && s.ig.ignores(isDir ? `${sub}/` : sub)) return true;
  }
  return false;
}

async function* walkDir(root: string, rel: string, opts: { recursive: boolean; gitignore?: boolean }, scopes: Scope[], pins: PinnedTree): AsyncGenerator<WalkEntry> {
  const abs = path.join(root, rel);
  const added = opts.gitignore !== false && (await addScope(root, rel, scopes));
  try {
    const listed = await pins
      .inDir(rel, async (dir) => {
        const names = (await readdir(dir)).filter((n) => n !== '.git').sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const out: { name: string; stat: Stats }[] = [];
        for (const name of names) {
          const stat = await lstat(`${dir}/${name}`).catch(() => undefined);
          if (stat) out.push({ name, stat }); // gone meanwhile: a live workspace changes under us
        }
        return out;
      })
      .catch(() => []); // the folder went (or became a link) since it was seen
    for (const { name, stat } of listed) {
      const childRel = rel ? `${rel}/${name}` : name;
      const isDir = stat.isDirectory();
      if (opts.gitignore !== false && ignored(childRel, isDir, scopes)) continue;
      const kind = isDir ? 'dir' : stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : 'other';
      yield { rel: childRel, abs: path.join(abs, name), name, kind, stat };
      if (isDir && opts.recursive) yield* walkDir(root, childRel, opts, scopes, pins);
    }
  } finally {
    if (added) scopes.pop();
  }
}
