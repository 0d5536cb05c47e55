import { createHash, randomUUID } from 'node:crypto';
import { access, chmod, copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SMALL_FILE, type FileSink } from './manifest';

/**
 * Content-addressed file contents: blobs/<first two hex>/<sha256>. A blob is written once, never
 * changed, and shared by every snapshot (and every snapshot layer) holding the same bytes.
 */
export class BlobStore implements FileSink {
  private readonly tmp: string;
  /** Hashes known to be stored (blobs are never deleted while the service runs): saves a stat each. */
  private readonly known = new Set<string>();
  constructor(readonly root: string) {
    this.tmp = path.join(root, '.tmp');
  }

  async init(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
    await mkdir(this.tmp, { recursive: true });
    // The 256 fan-out folders up front: a put is then write + rename, nothing else.
    await Promise.all(Array.from({ length: 256 }, (_, i) => mkdir(path.join(this.root, i.toString(16).padStart(2, '0')), { recursive: true })));
  }

  pathOf(hash: string): string {
    return path.join(this.root, hash.slice(0, 2), hash);
  }

  /** Whether a blob is stored; `fresh` looks on disk even if it was seen before (a restore about to rely on it). */
  async has(hash: string, opts: { fresh?: boolean } = {}): Promise<boolean> {
    if (!opts.fresh && this.known.has(hash)) return true;
    const found = await access(this.pathOf(hash)).then(
      () => true,
      () => false,
    );
    if (found) this.known.add(hash);
    else this.known.delete(hash); // gone from disk: the next snapshot stores it again
    return found;
  }

  /**
   * Hashes an open file and stores its content under the hash unless it is there already. Small files
   * are read once into memory; large ones stream into a temp blob while being hashed, so what is
   * stored is exactly what was hashed, read from the one descriptor.
   */
  async ingest(fh: FileHandle, statSize: number): Promise<{ hash: string; size: number; stored: number }> {
    if (statSize <= SMALL_FILE) {
      const data = await fh.readFile();
      const hash = createHash('sha256').update(data).digest('hex');
      if (await this.has(hash)) return { hash, size: data.length, stored: 0 };
      const tmp = path.join(this.tmp, randomUUID());
      await writeFile(tmp, data, { mode: 0o644 });
      await this.publish(tmp, hash, false);
      return { hash, size: data.length, stored: data.length };
    }
    const tmp = path.join(this.tmp, randomUUID());
    const out = await open(tmp, 'wx', 0o644);
    const h = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) {
        h.update(chunk as Buffer);
        await out.write(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } finally {
      await out.close();
    }
    const hash = h.digest('hex');
    if (await this.has(hash)) {
      await rm(tmp, { force: true });
      return { hash, size, stored: 0 };
    }
    await this.publish(tmp, hash);
    return { hash, size, stored: size };
  }

  private async publish(tmp: string, hash: string, fixMode = true): Promise<void> {
    if (fixMode) await chmod(tmp, 0o644); // the open's mode is filtered by the umask
    await rename(tmp, this.pathOf(hash));
    this.known.add(hash);
  }

  /** Removes every blob whose hash is not in `keep`; the caller makes sure nothing is being stored meanwhile. */
  async collect(keep: Set<string>): Promise<{ blobs: number; bytes: number }> {
    let blobs = 0;
    let bytes = 0;
    for (let i = 0; i < 256; i++) {
      const dir = path.join(this.root, i.toString(16).padStart(2, '0'));
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (keep.has(name)) continue;
        const s = await stat(path.join(dir, name)).catch(() => undefined);
        await rm(path.join(dir, name), { force: true });
        this.known.delete(name);
        blobs++;
        bytes += s?.size ?? 0;
      }
    }
    return { blobs, bytes };
  }

  /** A blob's bytes, verified against its name: a corrupted store fails loudly instead of restoring garbage. */
  async read(hash: string): Promise<Buffer> {
    const data = await readFile(this.pathOf(hash));
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== hash) throw new Error(`blob ${hash} is corrupted (its content hashes to ${actual})`);
    return data;
  }

  /** Hard-links a blob to `dest` (for read-only layers); falls back to a copy when linking is refused. */
  async linkTo(hash: string, dest: string): Promise<void> {
    try {
      await link(this.pathOf(hash), dest);
    } catch {
      // EMLINK (ext4 allows 65000 links per inode) or EXDEV: a copy is always correct.
      await copyFile(this.pathOf(hash), dest);
    }
  }
}
