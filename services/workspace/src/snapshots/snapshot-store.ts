import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReadWriteLock } from '../workspaces/read-write-lock';
import { BlobStore } from './blob-store';
import { buildManifest, manifestChecksum, type HashCache, type Manifest } from './manifest';

export interface SnapshotResult {
  manifest: Manifest;
  checksum: string;
  files: number;
  bytes: number;
  /** Bytes newly written to the blob store (what did not exist in any earlier snapshot). */
  newBytes: number;
}

/**
 * Snapshots: a manifest file per snapshot (snapshots/<id>.json, immutable) naming blobs in the blob
 * store. Only content not already stored is written, so a snapshot costs what changed.
 */
export class SnapshotStore {
  readonly blobs: BlobStore;
  private readonly manifests: string;

  constructor(readonly root: string) {
    this.blobs = new BlobStore(path.join(root, 'blobs'));
    this.manifests = path.join(root, 'manifests');
  }

  async init(): Promise<void> {
    await mkdir(this.manifests, { recursive: true });
    await this.blobs.init();
  }

  /**
   * Held to read (shared) by whatever stores or reads blobs, and to write (exclusive) by the collection
   * of unreferenced blobs: a blob a snapshot in progress just stored or reused is in no manifest yet.
   */
  readonly lock = new ReadWriteLock();

  /** Captures `tree` under `snapshotId`. */
  capture(snapshotId: string, tree: string, cache?: HashCache): Promise<SnapshotResult> {
    return this.lock.read(() => this.captureUnlocked(snapshotId, tree, cache));
  }

  private async captureUnlocked(snapshotId: string, tree: string, cache?: HashCache): Promise<SnapshotResult> {
    let newBytes = 0;
    const manifest = await buildManifest(tree, { cache, sink: this.blobs, onStored: (n) => (newBytes += n) });
    const files = manifest.entries.filter((e) => e.type === 'file');
    const checksum = manifestChecksum(manifest);
    const file = this.manifestFile(snapshotId);
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify({ checksum, ...manifest }));
    await rename(tmp, file);
    return { manifest, checksum, files: files.length, bytes: files.reduce((n, e) => n + e.size, 0), newBytes };
  }

  /** Recently used manifests (immutable once written): forks and diffs of one snapshot parse it once. */
  private readonly recent = new Map<string, Manifest>();

  /** A snapshot's manifest, verified against its checksum. */
  async load(snapshotId: string): Promise<Manifest> {
    const hit = this.recent.get(snapshotId);
    if (hit) return hit;
    const manifest = await this.readManifest(snapshotId);
    this.recent.set(snapshotId, manifest);
    if (this.recent.size > 8) this.recent.delete(this.recent.keys().next().value!);
    return manifest;
  }

  private async readManifest(snapshotId: string): Promise<Manifest> {
    const raw = JSON.parse(await readFile(this.manifestFile(snapshotId), 'utf8')) as Manifest & { checksum: string };
    const manifest: Manifest = { version: raw.version, entries: raw.entries };
    if (manifestChecksum(manifest) !== raw.checksum) throw new Error(`snapshot ${snapshotId}'s manifest does not match its checksum`);
    return manifest;
  }

  /**
   * Deletes a snapshot's manifest and every blob no remaining manifest names. A manifest that cannot
   * be read (or fails its checksum) stops the collection: nothing is freed that might still be needed.
   */
  async delete(snapshotId: string): Promise<{ blobs: number; bytes: number }> {
    const file = this.manifestFile(snapshotId);
    return this.lock.write(async () => {
      await rm(file, { force: true });
      this.recent.delete(snapshotId);
      const keep = new Set<string>();
      for (const name of await readdir(this.manifests)) {
        if (!name.endsWith('.json')) continue; // a .tmp left by a crash names nothing
        for (const e of (await this.readManifest(name.slice(0, -'.json'.length))).entries) if (e.type === 'file') keep.add(e.hash!);
      }
      return this.blobs.collect(keep);
    });
  }

  private manifestFile(snapshotId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(snapshotId)) throw new Error(`bad snapshot id ${snapshotId}`);
    return path.join(this.manifests, `${snapshotId}.json`);
  }
}
