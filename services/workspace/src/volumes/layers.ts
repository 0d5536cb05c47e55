import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { runHostTool } from '@codeagent/sandbox/src/host/tools';

/**
 * Immutable lower layers shared by overlays. A layer is a folder that is never written after it is
 * made (made in a temp folder, then renamed into place), so any number of workspaces can stack on it.
 * Layers are garbage: one that no workspace references is removed by `collect`.
 */
export class LayerStore {
  constructor(readonly root: string) {}

  dir(layerId: string): string {
    return path.join(this.root, layerId);
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    // Temp folders are half-made layers from a crash.
    for (const name of await readdir(this.root)) if (name.startsWith('.tmp-')) await rm(path.join(this.root, name), { recursive: true, force: true });
  }

  async exists(layerId: string): Promise<boolean> {
    return stat(this.dir(layerId)).then(
      () => true,
      () => false,
    );
  }

  /** Builds a layer with `fill(tmpDir)` and publishes it atomically under `layerId`. */
  async create(layerId: string, fill: (dir: string) => Promise<void>): Promise<string> {
    const tmp = path.join(this.root, `.tmp-${randomUUID()}`);
    await mkdir(tmp);
    try {
      await fill(tmp);
      await rename(tmp, this.dir(layerId)).catch(async (err: NodeJS.ErrnoException) => {
        // Someone made the same layer meanwhile (same source fingerprint): theirs is as good.
        if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') return;
        throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
    return layerId;
  }

  /** A copy of a folder (cp -a keeps modes, links, times and the xattrs overlay whiteouts rely on). */
  async fromFolder(layerId: string, source: string): Promise<string> {
    return this.create(layerId, (dir) => copyTree(source, dir));
  }

  /** Removes every layer not in `keep`. */
  async collect(keep: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.root)) {
      if (name.startsWith('.tmp-') || keep.has(name)) continue;
      await rm(this.dir(name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  async remove(layerId: string): Promise<void> {
    await rm(this.dir(layerId), { recursive: true, force: true });
  }
}

export async function copyTree(source: string, dest: string): Promise<void> {
  await runHostTool('cp', ['-a', '--reflink=auto', `${source}/.`, dest], { timeoutMs: 600_000 });
}

/**
 * `cp -a` of a folder a jailed process can change meanwhile (a workspace's overlay upper), run in a
 * Bubblewrap mount namespace that holds only the source, the destination and /usr. cp resolves
 * paths, so a folder swapped for a link mid-copy would otherwise make the service (root) copy host
 * files into a layer the jail then reads; here a link can only lead to /usr or nowhere. The
 * capabilities are those cp -a needs to keep the overlay's whiteouts (mknod) and opaque folders
 * (trusted.* xattrs); no user namespace, so they are the host's.
 */
export async function copyConfined(source: string, dest: string): Promise<void> {
  const caps = ['CAP_SYS_ADMIN', 'CAP_MKNOD', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE', 'CAP_FSETID'].flatMap((c) => ['--cap-add', c]);
  await runHostTool(
    'bwrap',
    [
      '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--die-with-parent', ...caps,
      '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
      '--ro-bind', source, '/src', '--bind', dest, '/dst',
      '/usr/bin/cp', '-a', '/src/.', '/dst/',
    ],
    { timeoutMs: 600_000 },
  );
}

/**
 * A cheap fingerprint of a folder (paths, sizes, modes, mtimes): two prepares of an unchanged folder
 * share one layer instead of copying it twice. Content is not read, as git's index does not either.
 */
export async function folderFingerprint(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const s = await lstat(path.join(root, p)).catch(() => undefined);
      if (!s) continue;
      h.update(`${p}\0${s.mode}\0${s.size}\0${s.mtimeMs}\0${s.ino}\n`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk('');
  return h.digest('hex').slice(0, 24);
}
