import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@codeagent/contracts';

/**
 * Every path of the file API is relative to the workspace root. A leading "/" means the root (the
 * sandbox sees the workspace at /workspace, and callers pass paths as they see them there).
 * `..` that climbs out, and symlinks that lead out, are refused with PATH_OUTSIDE_WORKSPACE.
 */
export function normalizeRel(rel: string): string {
  if (rel.includes('\0')) throw outside(rel);
  let p = rel.replace(/\\/g, '/');
  if (p.startsWith('/workspace/') || p === '/workspace') p = p.slice('/workspace'.length);
  const norm = path.posix.normalize(`/${p}`); // resolves '..' against the root: leaves no '..'
  // normalize('/..') is '/', which would silently clamp an escape: detect the climb instead.
  let depth = 0;
  for (const part of p.split('/')) {
    if (part === '..') depth--;
    else if (part && part !== '.') depth++;
    if (depth < 0) throw outside(rel);
  }
  return norm === '/' ? '' : norm.slice(1);
}

export function outside(rel: string): AppError {
  return new AppError('PATH_OUTSIDE_WORKSPACE', `path ${JSON.stringify(rel)} leads outside the workspace`, { details: { path: rel } });
}

export function isInside(root: string, abs: string): boolean {
  return abs === root || abs.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * Resolves a request path to a host path inside `root` (which must itself be a real path).
 * Symlinks are followed component by component; one that leads outside is refused. The final
 * component is resolved too unless `followLast` is false (stat of a link, delete, move).
 * A missing tail is allowed (the target of a write), its existing ancestors are checked.
 */
export async function resolveInside(root: string, rel: string, opts: { followLast?: boolean } = {}): Promise<{ abs: string; rel: string }> {
  const clean = normalizeRel(rel);
  if (!clean) return { abs: root, rel: '' };
  const parts = clean.split('/');
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(cur, parts[i]!);
    const last = i === parts.length - 1;
    const s = await lstat(next).catch(() => undefined);
    if (!s) {
      // Missing: the rest cannot be links, so it is inside as long as `cur` is.
      return { abs: path.join(cur, ...parts.slice(i)), rel: clean };
    }
    if (s.isSymbolicLink() && (!last || opts.followLast !== false)) {
      const target = await readlink(next);
      const resolved = path.resolve(cur, target);
      const real = await realpath(resolved).catch(() => resolved);
      if (!isInside(root, real)) throw outside(rel);
      cur = real;
    } else cur = next;
  }
  if (!isInside(root, cur)) throw outside(rel);
  return { abs: cur, rel: clean };
}
