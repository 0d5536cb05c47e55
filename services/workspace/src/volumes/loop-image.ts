import { open, statfs } from 'node:fs/promises';
import { runHostTool } from '@codeagent/sandbox/src/host/tools';
import { detachLoop } from './mounts';

/**
 * ext4 spends a few percent on metadata; the image is made that much larger so that the space a
 * workspace can really write is close to its quota (measured: without a journal, 1 GiB leaves ~95%).
 */
export function imageSizeBytes(quotaMb: number): number {
  return Math.ceil(quotaMb * 1.06 + 2) * 1024 * 1024;
}

/** A sparse file formatted as ext4: it takes no disk until written, and can never grow past its size. */
export async function createImage(file: string, quotaMb: number): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await fh.truncate(imageSizeBytes(quotaMb));
  } finally {
    await fh.close();
  }
  // No journal: a workspace is scratch space, and a journal would eat a fixed share of small quotas.
  // -m 0: no blocks reserved for root, since the service writes as root and must hit the same wall.
  await runHostTool('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', 'lazy_itable_init=1,nodiscard', file]);
}

/**
 * Mounts an image: attached to a free loop device (losetup asks the kernel for one), then mounted from
 * it. Not `mount -o loop`, which first looks through every attached loop device for the same file: 6 ms
 * of CPU with none, 22 with 400 (measured; ~4 ms this way either way), paid at each create for each
 * live session. The device is not auto-detached: unmountAndDetach does it.
 */
export async function mountImage(file: string, dir: string): Promise<void> {
  const device = (await runHostTool('losetup', ['--find', '--show', file])).stdout.trim();
  try {
    await mountLoopDevice(device, dir);
  } catch (err) {
    await detachLoop(device);
    throw err;
  }
}

/**
 * Mounts the filesystem of a loop device that is already attached. When that filesystem is mounted
 * elsewhere too, this is the same filesystem (the kernel's one superblock for the device), which a
 * second loop device on the same image would not be: two ext4 instances over one image corrupt it.
 */
export async function mountLoopDevice(device: string, dir: string): Promise<void> {
  await runHostTool('mount', ['-t', 'ext4', '-o', 'noatime,nodev,nosuid', device, dir]);
}

/** Checks and repairs an image after a crash, before mounting it again. */
export async function repairImage(file: string): Promise<void> {
  // e2fsck exits 1 when it fixed something, which is fine; only >= 4 is a real failure.
  await runHostTool('e2fsck', ['-p', file]).catch((err: Error & { cause?: { code?: number } }) => {
    const code = err.cause?.code;
    if (typeof code === 'number' && code < 4) return;
    throw err;
  });
}

/**
 * Free space below which a volume counts as full. ext4 keeps min(2 %, 4096 blocks) back for its own
 * metadata (s_resv_clusters) and reports it as free, though a writer gets ENOSPC first: measured, a
 * 10 MiB quota fails with ~0.7 MiB "free", a 1 GiB one with ~16 MiB.
 */
export function fullBelowBytes(totalBytes: number): number {
  return Math.min(totalBytes / 50, 16 * 1024 * 1024) + 1024 * 1024;
}

/** Bytes used and total of the filesystem holding `dir`. */
export async function fsUsage(dir: string): Promise<{ usedBytes: number; totalBytes: number; freeBytes: number }> {
  const s = await statfs(dir);
  return { usedBytes: (s.blocks - s.bfree) * s.bsize, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
}
