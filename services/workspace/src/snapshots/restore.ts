import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, rename, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PinnedTree, READ_FLAGS, removeIn } from '../files/pinned';
import type { BlobStore } from './blob-store';
import { buildManifest, type HashCache, type Manifest, type ManifestEntry } from './manifest';

export interface RestoreStats {
  written: number;
  removed: number;
  unchanged: number;
}

/**
 * Makes `tree` equal to `target` in place, touching only what differs. In place (rather than swapping
 * folders or remounts) because a running sandbox has `tree` bind-mounted: it must see the restored
 * files at the same path without being restarted. Files are replaced by rename, so a reader never
 * sees half a file; times are set back so the next snapshot's stat cache recognises them. The
 * sandbox may change the tree meanwhile, so every change goes through pinned folders (PinnedTree).
 */
export async function restoreTree(tree: string, target: Manifest, blobs: BlobStore, cache?: HashCache): Promise<RestoreStats> {
  // Every blob must be there before anything changes: a missing one would leave a half-restored tree.
  const needed = target.entries.filter((e) => e.type === 'file');
  let at = 0;
  const check = async () => {
    while (at < needed.length) {
      const e = needed[at++]!;
      if (!(await blobs.has(e.hash!, { fresh: true }))) throw new Error(`the snapshot's content ${e.hash} (${e.path}) is missing from the blob store`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, check));
  const pins = new PinnedTree(tree);
  try {
    const live = await buildManifest(tree, { cache, pins });
    const want = new Map(target.entries.map((e) => [e.path, e]));
    const have = new Map(live.entries.map((e) => [e.path, e]));
    const stats: RestoreStats = { written: 0, removed: 0, unchanged: 0 };

    // Remove what the target does not have, or has as another type; deepest first.
    const doomed = live.entries.filter((e) => want.get(e.path)?.type !== e.type).sort((a, b) => b.path.length - a.path.length);
    for (const e of doomed) {
      await pins.inParent(e.path, (dir, name) => removeIn(dir, name)).catch(ignoreGone);
      have.delete(e.path);
      stats.removed++;
    }
    await pins.close(); // folders pinned by the walk may be gone now

    // Folders first (parents before children), with write permission until their files are in.
    for (const e of target.entries) if (e.type === 'dir') await pins.inDir(e.path, (dir) => chmodDir(dir, e.mode | 0o700), { create: true });
    const entries = target.entries.filter((e) => e.type !== 'dir');
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const e = entries[next++]!;
        const cur = have.get(e.path);
        if (cur && cur.hash === e.hash && cur.type === e.type) {
          if (e.type === 'file' && cur.mode !== e.mode) await pins.inParent(e.path, (dir, name) => chmodFile(`${dir}/${name}`, e.mode));
          stats.unchanged++;
          continue;
        }
        await pins.inParent(e.path, (dir, name) => writeEntry(dir, name, e, blobs));
        cache?.delete(e.path);
        stats.written++;
      }
    };
    // Files are independent once their folders exist: a few at a time keep the disk busy.
    await Promise.all(Array.from({ length: 8 }, worker));
    // Folder modes last, deepest first, so that read-only folders were writable while being filled.
    for (const e of [...target.entries].reverse()) if (e.type === 'dir') await pins.inDir(e.path, (dir) => chmodDir(dir, e.mode));
    return stats;
  } finally {
    await pins.close();
  }
}

/** Writes one entry as a temp file in its pinned folder, then renames it over the name. */
async function writeEntry(dir: string, name: string, e: ManifestEntry, blobs: BlobStore): Promise<void> {
  const tmp = `${dir}/.restore-${randomUUID()}`;
  if (e.type === 'symlink') {
    await symlink(e.target!, tmp);
  } else {
    const data = await blobs.read(e.hash!);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(data);
      await fh.chmod(e.mode); // the open's mode is filtered by the umask
      await fh.utimes(new Date(), new Date(e.mtimeMs));
    } finally {
      await fh.close();
    }
  }
  try {
    await rename(tmp, `${dir}/${name}`);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** chmod through a descriptor: a path would follow a link swapped in for the file. */
async function chmodFile(p: string, mode: number): Promise<void> {
  const fh = await open(p, READ_FLAGS);
  try {
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

const chmodDir = (dir: string, mode: number) => chmod(dir, mode); // `dir` is a pinned /proc/self/fd path

/** A path that went away meanwhile (with its parent) needs no removal. */
function ignoreGone(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

/** Builds a read-only layer from a snapshot: blobs hard-linked where the mode allows, copied otherwise. */
export async function materializeSnapshot(dir: string, manifest: Manifest, blobs: BlobStore): Promise<void> {
  // Folders first (sorted, so parents come before children), then files a few at a time.
  for (const e of manifest.entries) if (e.type === 'dir') await mkdir(path.join(dir, e.path), { recursive: true });
  const rest = manifest.entries.filter((e) => e.type !== 'dir');
  let next = 0;
  const worker = async () => {
    while (next < rest.length) {
      const e = rest[next++]!;
      const abs = path.join(dir, e.path);
      if (e.type === 'symlink') await symlink(e.target!, abs);
      else if (e.mode === 0o644 && e.size > 0) await blobs.linkTo(e.hash!, abs);
      else {
        await writeFile(abs, e.size > 0 ? await blobs.read(e.hash!) : Buffer.alloc(0));
        await chmod(abs, e.mode);
        await utimes(abs, new Date(), new Date(e.mtimeMs));
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  for (const e of [...manifest.entries].reverse()) if (e.type === 'dir') await chmod(path.join(dir, e.path), e.mode);
}
