import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { copyConfined } from './layers';
import { createImage, mountImage } from './loop-image';
import { mountOverlay } from './overlay';
import { unmount, unmountTree } from './mounts';

/** What this host lets the service do, found once at start by trying it. */
export interface Capabilities {
  /** Overlay mounts work: prepare and fork share immutable layers. Otherwise workspaces are plain copies. */
  overlay: boolean;
  /** Loop-mounted ext4 images work: hard per-workspace quotas. Otherwise quotas are soft (checked by the service). */
  loop: boolean;
  /** A live workspace's upper can be copied confined (copyConfined); otherwise live forks go through a snapshot. */
  confinedCopy: boolean;
  /** Why a capability is missing, for the logs and the workspace records. */
  notes: string[];
}

export type CowSetting = 'auto' | 'overlay' | 'copy';
export type QuotaSetting = 'auto' | 'loop' | 'none';

/**
 * Tries a tiny loop image and an overlay mount in `scratch`. Both need root (or CAP_SYS_ADMIN) and a
 * kernel that allows them; containers often do not. Settings force a mode, or `auto` takes what works.
 */
export async function probeCapabilities(scratch: string, cow: CowSetting, quota: QuotaSetting): Promise<Capabilities> {
  const notes: string[] = [];
  const dir = path.join(scratch, `probe-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  let loop = false;
  let overlay = false;
  let confinedCopy = false;
  try {
    if (quota !== 'none') {
      const img = path.join(dir, 'probe.img');
      const mnt = path.join(dir, 'mnt');
      await mkdir(mnt);
      try {
        await createImage(img, 4);
        await mountImage(img, mnt);
        loop = true;
        await unmountTree(mnt);
      } catch (err) {
        notes.push(`loop-mounted quota images unavailable (${firstLine(err)}): quotas are soft, checked by the service only`);
      }
    } else notes.push('quotas disabled by WORKSPACE_QUOTA_MODE=none: soft quotas only');
    if (cow !== 'copy') {
      const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => path.join(dir, n)) as [string, string, string, string];
      await Promise.all([lower, upper, work, merged].map((d) => mkdir(d)));
      try {
        await mountOverlay({ lowers: [lower], upper, work, merged });
        overlay = true;
        await unmount(merged);
      } catch (err) {
        notes.push(`overlay mounts unavailable (${firstLine(err)}): workspaces are full copies`);
      }
    } else notes.push('copy-on-write disabled by WORKSPACE_COW_MODE=copy: workspaces are full copies');
    if (overlay) {
      const [from, to] = [path.join(dir, 'copy-from'), path.join(dir, 'copy-to')];
      await Promise.all([mkdir(from), mkdir(to)]);
      try {
        await copyConfined(from, to);
        confinedCopy = true;
      } catch (err) {
        notes.push(`confined copies unavailable (${firstLine(err)}): a fork of a live workspace goes through a snapshot`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  if (cow === 'overlay' && !overlay) throw new Error(`WORKSPACE_COW_MODE=overlay but ${notes.join('; ')}`);
  if (quota === 'loop' && !loop) throw new Error(`WORKSPACE_QUOTA_MODE=loop but ${notes.join('; ')}`);
  return { overlay, loop, confinedCopy, notes };
}

const firstLine = (err: unknown) => String((err as Error).message ?? err).split('\n')[0];
