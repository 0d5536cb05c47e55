import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Capabilities } from './capabilities';
import { copyTree } from './layers';
import { createImage, fsUsage, mountImage, mountLoopDevice, repairImage } from './loop-image';
import { isMountPoint, mountsUnder, unmount, unmountTree } from './mounts';
import { mountLowersReadOnly, mountOverlay } from './overlay';

/** How a workspace's files are stored. */
export type StorageMode = 'overlay' | 'copy' | 'worktree';

/**
 * One folder per workspace under `root`:
 *   <id>/disk.img   sparse ext4 image, the hard quota (when loop mounts work)
 *   <id>/vol/       the image's mount point (a plain folder without loop mounts)
 *   <id>/vol/upper, vol/work   overlay upper and work folders: every write lands on the quota'd image
 *   <id>/vol/tree   the files themselves in copy and worktree modes
 *   <id>/merged     the overlay mount point: the `path` the shell binds at /workspace
 */
export class Volumes {
  private readonly poolRoot: string;
  private pool: string[] = [];
  private refilling: Promise<void> | undefined;
  private stopped = false;

  /**
   * `poolSize` volumes of `poolQuotaMb` are kept formatted and mounted ahead of need, so that prepare
   * and fork only rename a folder instead of waiting for mkfs and a loop mount (tens of ms each).
   */
  constructor(
    readonly root: string,
    readonly caps: Capabilities,
    private readonly poolOpts: { size: number; quotaMb: number } = { size: 0, quotaMb: 0 },
  ) {
    this.poolRoot = path.join(path.dirname(root), 'pool');
  }

  wsDir(id: string): string {
    return path.join(this.root, id);
  }
  volDir(id: string): string {
    return path.join(this.root, id, 'vol');
  }
  upperDir(id: string): string {
    return path.join(this.volDir(id), 'upper');
  }
  treeDir(id: string): string {
    return path.join(this.volDir(id), 'tree');
  }
  mergedDir(id: string): string {
    return path.join(this.root, id, 'merged');
  }
  imageFile(id: string): string {
    return path.join(this.root, id, 'disk.img');
  }
  /** The folder the workspace's files are visible in. */
  pathOf(id: string, mode: StorageMode): string {
    return mode === 'overlay' ? this.mergedDir(id) : this.treeDir(id);
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.destroyPool();
    await mkdir(this.poolRoot, { recursive: true });
    this.refill();
  }

  /** Creates the workspace's folder and its quota'd volume. Returns whether the quota is hard. */
  async createVolume(id: string, quotaMb: number): Promise<{ hardQuota: boolean }> {
    if (this.caps.loop && quotaMb === this.poolOpts.quotaMb) {
      const ready = this.pool.shift();
      this.refill();
      if (ready) {
        // Renaming the folder above a mount point moves the mount (and the loop's backing path) with it.
        await rename(ready, this.wsDir(id));
        return { hardQuota: true };
      }
    }
    return this.makeVolume(id, quotaMb);
  }

  private refill(): void {
    if (this.refilling || this.stopped || !this.caps.loop || this.pool.length >= this.poolOpts.size) return;
    this.refilling = (async () => {
      while (!this.stopped && this.pool.length < this.poolOpts.size) {
        const name = `p${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
        const dir = path.join(this.poolRoot, name);
        try {
          await mkdir(path.join(dir, 'vol'), { recursive: true });
          await createImage(path.join(dir, 'disk.img'), this.poolOpts.quotaMb);
          await mountImage(path.join(dir, 'disk.img'), path.join(dir, 'vol'));
          if (this.stopped) await destroyDir(dir);
          else this.pool.push(dir);
        } catch {
          await destroyDir(dir).catch(() => undefined);
          return; // try again at the next take
        }
      }
    })().finally(() => (this.refilling = undefined));
  }

  /** Volumes ready in the pool. */
  poolReady(): number {
    return this.pool.length;
  }

  /** Stops refilling and removes the pool's volumes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.refilling;
    await this.destroyPool();
  }

  private async destroyPool(): Promise<void> {
    this.pool = [];
    await destroyDir(this.poolRoot);
  }

  private async makeVolume(id: string, quotaMb: number): Promise<{ hardQuota: boolean }> {
    await mkdir(this.wsDir(id));
    await mkdir(this.volDir(id));
    if (!this.caps.loop) return { hardQuota: false };
    await createImage(this.imageFile(id), quotaMb);
    await mountImage(this.imageFile(id), this.volDir(id));
    return { hardQuota: true };
  }

  /**
   * Runs `fn` on the read-only view of `lowers` alone (an overlay workspace as it started: its layers
   * are never written). One layer is its own view; more are mounted at <id>/start for the call only.
   * Callers serialize per workspace (one mount point each); destroy() unmounts a leftover.
   */
  async withLowersView<T>(id: string, lowers: string[], fn: (dir: string) => Promise<T>): Promise<T> {
    if (lowers.length === 1) return fn(lowers[0]!);
    const target = path.join(this.wsDir(id), 'start');
    await mkdir(target, { recursive: true });
    if (await isMountPoint(target)) await unmount(target);
    await mountLowersReadOnly(lowers, target);
    try {
      return await fn(target);
    } finally {
      await unmount(target);
    }
  }

  /** Stacks an overlay over `lowers` (layer folders, top first) with its upper on the volume. */
  async mountOverlay(id: string, lowers: string[]): Promise<string> {
    await Promise.all([mkdir(this.upperDir(id), { recursive: true }), mkdir(path.join(this.volDir(id), 'work'), { recursive: true }), mkdir(this.mergedDir(id), { recursive: true })]);
    await mountOverlay({ lowers, upper: this.upperDir(id), work: path.join(this.volDir(id), 'work'), merged: this.mergedDir(id) });
    return this.mergedDir(id);
  }

  /** The fallback without overlay: the layers copied into the volume, bottom first. */
  async materializeCopy(id: string, lowers: string[]): Promise<string> {
    const tree = this.treeDir(id);
    await mkdir(tree, { recursive: true });
    for (const layer of [...lowers].reverse()) await copyTree(layer, tree);
    return tree;
  }

  /**
   * Puts the mounts of an existing workspace back after a restart or a reboot: the image is checked
   * (it has no journal) and mounted again, then the overlay. `host` is what the caller read once for
   * all workspaces: the mount points, and the loop devices attached by image file.
   *
   * An image still attached to a loop device that is not mounted here is mounted elsewhere: a jail kept
   * across a stop that unmounted it (WORKSPACE_UNMOUNT_ON_STOP) still has it. Its files are mounted from
   * that device, never from a second one, and not checked (e2fsck of a mounted filesystem damages it).
   * An overlay over it is refused: a second overlay on the same upper folder is undefined behaviour in
   * the kernel, and the live one's work folder must not be emptied.
   */
  async ensureMounted(id: string, mode: StorageMode, lowers: string[], hardQuota: boolean, host: { mounted: Set<string>; attached: Map<string, string> }): Promise<void> {
    const attached = host.attached.get(this.imageFile(id));
    if (hardQuota && !host.mounted.has(this.volDir(id))) {
      if (attached && mode === 'overlay') {
        throw new Error(`${attached} still holds the image and its overlay is mounted outside this service (a jail kept across a stop that unmounted it); not mounted a second time. Close that session, or keep WORKSPACE_UNMOUNT_ON_STOP off while jails are kept`);
      }
      if (attached) {
        await mountLoopDevice(attached, this.volDir(id));
      } else {
        await repairImage(this.imageFile(id));
        await mountImage(this.imageFile(id), this.volDir(id));
      }
    }
    if (mode === 'overlay' && !host.mounted.has(this.mergedDir(id))) {
      // A work folder left by an unclean stop may hold stale entries; overlay wants it empty.
      await rm(path.join(this.volDir(id), 'work'), { recursive: true, force: true });
      await this.mountOverlay(id, lowers);
    }
  }

  /** Unmounts an overlay (e.g. to swap its lowers) without touching the volume. */
  async unmountOverlay(id: string): Promise<void> {
    for (const m of await mountsUnder(this.mergedDir(id))) await unmount(m.mountPoint);
  }

  /** Removes everything a workspace left: mounts (deepest first), loop devices, folders. */
  async destroy(id: string): Promise<void> {
    await destroyDir(this.wsDir(id));
  }

  /** Workspace folders on disk, for orphan collection. */
  async listOnDisk(): Promise<string[]> {
    return (await readdir(this.root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  }

  /** Bytes the workspace has written (its upper or tree), and its capacity when the quota is hard. */
  async usage(id: string, hardQuota: boolean): Promise<{ usedBytes: number; freeBytes?: number; totalBytes?: number }> {
    if (hardQuota) return fsUsage(this.volDir(id));
    return { usedBytes: await duBytes(this.volDir(id)) };
  }
}

/**
 * Unmounts everything below a folder (deepest first), detaches the loop devices of those mounts, and
 * removes it. Not every loop device of the host is listed (`losetup --list`: 27 ms of CPU with 400
 * devices, measured, at each close): one attached without a mount is the start's sweep's
 * (Lifecycle.recover).
 */
async function destroyDir(dir: string): Promise<void> {
  await unmountTree(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Disk usage of a folder (allocated blocks, like du), without following links. */
export async function duBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await stat(p).catch(() => undefined);
        if (s && !e.isSymbolicLink()) total += s.blocks * 512;
      }
    }
  };
  await walk(dir);
  return total;
}
