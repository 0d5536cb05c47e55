import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { isInside, outside } from './resolve';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;
/** O_NONBLOCK: a fifo swapped in for a file must not hang the service on open. */
export const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The real path behind an open descriptor must be inside `root`. Fails closed: a descriptor whose
 * path cannot be read is refused too.
 */
export async function checkFdInside(root: string, fh: FileHandle, shown: string): Promise<void> {
  const real = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
  if (real === undefined || !isInside(root, real)) throw outside(shown);
}

/** Opens a file for reading without following a final link, and proves it is a regular file inside `root`. */
export async function openFileInside(root: string, abs: string, shown: string): Promise<FileHandle> {
  const fh = await open(abs, READ_FLAGS);
  try {
    await checkFdInside(root, fh, shown);
    if (!(await fh.stat()).isFile()) throw Object.assign(new Error(`${shown} is not a regular file`), { code: 'EISDIR' });
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Folders of a tree that a jailed process may change while the service (root) works in it. A folder
 * is opened and the real path of its descriptor checked to be inside the root; work then goes through
 * `/proc/self/fd/<fd>/<name>`, which looks up only <name> in that very folder. A folder swapped for a
 * symlink after the check cannot lead the service outside. Final names are never followed: opens use
 * O_NOFOLLOW, and rename, unlink, rmdir, mkdir, symlink and lstat do not follow.
 */
export class PinnedTree {
  private readonly pinned = new Map<string, Promise<FileHandle>>();

  /** `maxPinned` folders stay open for the life of the operation; past it each use opens and closes one. */
  constructor(
    readonly root: string,
    private readonly maxPinned = 256,
  ) {}

  /** Runs `fn` with the folder `rel` (relative to the root, '' for the root) as a /proc/self/fd path. */
  async inDir<T>(rel: string, fn: (dir: string) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
    const cached = this.pinned.get(rel);
    if (cached) return fn(fdPath(await cached));
    const opening = this.openDir(rel, opts.create ?? false);
    if (this.pinned.size < this.maxPinned) {
      this.pinned.set(rel, opening);
      opening.catch(() => this.pinned.delete(rel));
      return fn(fdPath(await opening));
    }
    const fh = await opening;
    try {
      return await fn(fdPath(fh));
    } finally {
      await fh.close();
    }
  }

  /** Runs `fn` with the parent folder of `rel` and the last name of `rel`. */
  inParent<T>(rel: string, fn: (dir: string, name: string) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
    const parent = path.posix.dirname(rel);
    return this.inDir(parent === '.' ? '' : parent, (dir) => fn(dir, path.posix.basename(rel)), opts);
  }

  private async openDir(rel: string, create: boolean): Promise<FileHandle> {
    if (create && rel) {
      // Each missing folder is made inside its pinned parent, never through a path.
      await this.inParent(rel, (dir, name) => mkdir(`${dir}/${name}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      }), { create: true });
    }
    const fh = await open(rel ? path.join(this.root, rel) : this.root, DIR_FLAGS);
    try {
      await checkFdInside(this.root, fh, rel || '.');
      return fh;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const all = [...this.pinned.values()];
    this.pinned.clear();
    await Promise.all(all.map((p) => p.then((fh) => fh.close()).catch(() => undefined)));
  }
}

const fdPath = (fh: FileHandle) => `/proc/self/fd/${fh.fd}`;

/**
 * Removes `name` from the pinned folder `dir`, recursively, never following a link: a sub-folder is
 * opened with O_NOFOLLOW and emptied through its own descriptor, so one swapped for a link midway
 * is unlinked as a link instead of being followed.
 */
export async function removeIn(dir: string, name: string): Promise<void> {
  const p = `${dir}/${name}`;
  const s = await lstat(p).catch(() => undefined);
  if (!s) return;
  if (s.isDirectory()) {
    const fh = await open(p, DIR_FLAGS | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP' || err.code === 'ENOTDIR') return undefined; // became a link or a file
      throw err;
    });
    if (fh) {
      try {
        const sub = fdPath(fh);
        for (const n of await readdir(sub)) await removeIn(sub, n);
      } finally {
        await fh.close();
      }
      await rmdir(p).catch(ignoreMissing);
      return;
    }
  }
  await unlink(p).catch(ignoreMissing);
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
