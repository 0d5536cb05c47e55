import { createHash } from 'node:crypto';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { PinnedTree, READ_FLAGS } from '../files/pinned';

/** One path of a snapshot. Folders are listed so that empty ones and their modes come back too. */
export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  size: number;
  /** sha256 of the content (files) or of the link target (symlinks). */
  hash?: string;
  target?: string;
  mtimeMs: number;
}

export interface Manifest {
  version: 1;
  entries: ManifestEntry[];
}

/** What was hashed last time, keyed by path: an unchanged stat means an unchanged hash. */
export type HashCache = Map<string, { size: number; mtimeMs: number; ino: number; hash: string }>;

/** Files up to this size are read whole (one read, and the bytes go to the blob store as they are). */
export const SMALL_FILE = 8 * 1024 * 1024;

/** sha256 of an open file, read from its start; `size` is what was really read. */
export async function hashOpenFile(fh: FileHandle, statSize: number): Promise<{ hash: string; size: number }> {
  if (statSize <= SMALL_FILE) {
    const data = await fh.readFile();
    return { hash: createHash('sha256').update(data).digest('hex'), size: data.length };
  }
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

/** Where hashed files go: the blob store when taking a snapshot. */
export interface FileSink {
  has(hash: string): Promise<boolean>;
  /** Hashes and stores an open file; `stored` is the bytes newly written (0 when the content was known). */
  ingest(fh: FileHandle, statSize: number): Promise<{ hash: string; size: number; stored: number }>;
}

/**
 * Walks a tree (never following links) and describes every entry, sorted by path. The tree may be a
 * live workspace that a jailed process changes meanwhile: folders are read through pinned descriptors
 * and files opened with O_NOFOLLOW inside them, so nothing outside the tree is ever read, and entries
 * that vanish or change type mid-walk are left out. With a `sink`, every hashed file is stored there
 * from the same descriptor; a cached hash is trusted only if the sink has its content.
 */
export async function buildManifest(
  root: string,
  opts: { cache?: HashCache; sink?: FileSink; onStored?: (bytes: number) => void; pins?: PinnedTree; concurrency?: number } = {},
): Promise<Manifest> {
  const pins = opts.pins ?? new PinnedTree(root);
  try {
    const entries: ManifestEntry[] = [];
    const files: { entry: ManifestEntry; ino: number }[] = [];
    const walk = async (rel: string): Promise<void> => {
      const subdirs: string[] = [];
      await pins.inDir(rel, async (dir) => {
        for (const name of await readdir(dir)) {
          const p = rel ? `${rel}/${name}` : name;
          const s = await lstat(`${dir}/${name}`).catch(() => undefined);
          if (!s) continue; // gone meanwhile: a live workspace changes under us
          const base = { path: p, mode: s.mode & 0o7777, mtimeMs: Math.floor(s.mtimeMs) };
          if (s.isDirectory()) {
            entries.push({ ...base, type: 'dir', size: 0 });
            subdirs.push(p);
          } else if (s.isSymbolicLink()) {
            const target = await readlink(`${dir}/${name}`).catch(() => undefined);
            if (target !== undefined) entries.push({ ...base, type: 'symlink', size: target.length, target, hash: createHash('sha256').update(target).digest('hex') });
          } else if (s.isFile()) {
            const entry: ManifestEntry = { ...base, type: 'file', size: s.size };
            entries.push(entry);
            files.push({ entry, ino: s.ino });
          }
          // Sockets, fifos and devices are not part of a project's state.
        }
      });
      for (const d of subdirs) await walk(d).catch(ignoreVanished);
    };
    await walk('');

    // Hash files a few at a time: reading is the cost, and parallel reads keep the disk busy.
    const gone = new Set<ManifestEntry>();
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const f = files[next++]!;
        const cached = opts.cache?.get(f.entry.path);
        if (cached && cached.size === f.entry.size && cached.mtimeMs === f.entry.mtimeMs && cached.ino === f.ino && (!opts.sink || (await opts.sink.has(cached.hash)))) {
          f.entry.hash = cached.hash;
          continue;
        }
        const fh = await pins.inParent(f.entry.path, (dir, name) => open(`${dir}/${name}`, READ_FLAGS)).catch(() => undefined);
        if (!fh) {
          gone.add(f.entry);
          continue;
        }
        try {
          if (!(await fh.stat()).isFile()) {
            gone.add(f.entry);
            continue;
          }
          const r = opts.sink ? await opts.sink.ingest(fh, f.entry.size) : { ...(await hashOpenFile(fh, f.entry.size)), stored: 0 };
          f.entry.hash = r.hash;
          f.entry.size = r.size;
          if (r.stored) opts.onStored?.(r.stored);
          opts.cache?.set(f.entry.path, { size: f.entry.size, mtimeMs: f.entry.mtimeMs, ino: f.ino, hash: r.hash });
        } finally {
          await fh.close();
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
    const kept = gone.size ? entries.filter((e) => !gone.has(e)) : entries;
    kept.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { version: 1, entries: kept };
  } finally {
    if (!opts.pins) await pins.close();
  }
}

/** A folder removed (or swapped for something else) between its listing and its walk is left out. */
function ignoreVanished(err: NodeJS.ErrnoException): void {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'ELOOP' || err.code === 'PATH_OUTSIDE_WORKSPACE') return;
  throw err;
}

/** The checksum over a manifest's content (not its times): equal trees have equal checksums. */
export function manifestChecksum(m: Manifest): string {
  const h = createHash('sha256');
  for (const e of m.entries) h.update(`${e.type}\0${e.path}\0${e.mode}\0${e.size}\0${e.hash ?? ''}\n`);
  return h.digest('hex');
}
