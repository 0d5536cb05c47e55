import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupTree, harness, writeTree, type Harness } from './helpers';
import { runHostTool } from '@codeagent/sandbox/src/host/tools';
import { createImage, mountImage } from '../src/volumes/loop-image';
import { isMountPoint, loopDevicesUnder, mountsUnder, unmount } from '../src/volumes/mounts';

// Start-up recovery after a crash or a reboot, and the idle sweep.
describe('lifecycle', () => {
  let tmp: string | undefined;
  afterAll(async () => {
    if (tmp) await cleanupTree(tmp);
  });

  it('collects what a crash left, and mounts surviving workspaces again', async () => {
    const first = await harness();
    tmp = first.tmp;
    const src = path.join(first.tmp, 'p');
    writeTree(src, { 'a.txt': 'a\n' });
    const keep = await first.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    writeFileSync(path.join(keep.path, 'mine.txt'), 'survives\n');
    const half = await first.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    await first.app.workspaces.repo.update(half.workspaceId, { status: 'preparing' }); // as if the process died mid-prepare
    // A folder with a mounted image and no record at all.
    const strayDir = path.join(first.app.storage.volumes.root, 'ws_stray');
    mkdirSync(path.join(strayDir, 'vol'), { recursive: true });
    await createImage(path.join(strayDir, 'disk.img'), 4);
    await mountImage(path.join(strayDir, 'disk.img'), path.join(strayDir, 'vol'));
    // A reboot: the surviving workspace's mounts are gone.
    for (const m of await mountsUnder(first.app.storage.volumes.wsDir(keep.workspaceId))) await unmount(m.mountPoint);
    expect(existsSync(path.join(keep.path, 'mine.txt'))).toBe(false);

    const second = await harness({ tmp: first.tmp });
    const { collected, remounted } = await second.app.lifecycle.recover();
    expect(collected.sort()).toEqual([half.workspaceId, 'ws_stray'].sort());
    expect(remounted).toEqual([keep.workspaceId]);
    expect(readFileSync(path.join(keep.path, 'mine.txt'), 'utf8')).toBe('survives\n');
    expect(readFileSync(path.join(keep.path, 'a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(strayDir)).toBe(false);
    expect(await isMountPoint(path.join(strayDir, 'vol'))).toBe(false);
    expect((await loopDevicesUnder(second.root)).length).toBe(1); // only the surviving workspace's
    await second.app.lifecycle.remove(keep.workspaceId);
    expect(await loopDevicesUnder(second.root)).toEqual([]);
    expect(await mountsUnder(second.root)).toEqual([]);
  });

  it('answers a prepare or fork redelivered after a restart with the workspace it made the first time', async () => {
    const first = await harness();
    try {
      const ws = await first.app.workspaces.prepare({ source: { kind: 'empty' }, requestId: 'msg-prepare-1' });
      const fork = await first.app.snapshots.fork({ workspaceId: ws.workspaceId, requestId: 'msg-fork-1' });
      await first.app.stop();
      // A stop leaves no mount and no loop device of its images attached (mountImage's are not auto-detached).
      expect(await mountsUnder(first.root)).toEqual([]);
      expect(await loopDevicesUnder(first.root)).toEqual([]);
      const second = await harness({ tmp: first.tmp });
      await second.app.lifecycle.recover();
      expect((await second.app.workspaces.prepare({ source: { kind: 'empty' }, requestId: 'msg-prepare-1' })).workspaceId).toBe(ws.workspaceId);
      expect((await second.app.snapshots.fork({ workspaceId: ws.workspaceId, requestId: 'msg-fork-1' })).view.workspaceId).toBe(fork.view.workspaceId);
      expect((await second.app.workspaces.list()).map((w) => w.workspaceId).sort()).toEqual([ws.workspaceId, fork.view.workspaceId].sort());
      expect(second.events.filter((e) => e.name === 'workspace.prepared' || e.name === 'workspace.forked')).toEqual([]);
      // Another message is another workspace.
      const other = await second.app.workspaces.prepare({ source: { kind: 'empty' }, requestId: 'msg-prepare-2' });
      expect(other.workspaceId).not.toBe(ws.workspaceId);
      await second.dispose();
    } finally {
      await first.dispose();
    }
  });

  it('a start finds the workspaces a stop left mounted, and mounts none of them twice', async () => {
    const first = await harness();
    try {
      const ws = await first.app.workspaces.prepare({ source: { kind: 'empty' } });
      writeFileSync(path.join(ws.path, 'f.txt'), 'on\n');
      const before = await mountsUnder(first.root);
      await first.app.stop({ unmount: false }); // the service's WORKSPACE_UNMOUNT_ON_STOP default
      expect(await mountsUnder(first.root)).toEqual(before);
      const second = await harness({ tmp: first.tmp });
      expect((await second.app.lifecycle.recover()).remounted).toEqual([ws.workspaceId]);
      expect(await mountsUnder(first.root)).toEqual(before); // nothing mounted twice
      expect(readFileSync(path.join(ws.path, 'f.txt'), 'utf8')).toBe('on\n');
      await second.dispose();
    } finally {
      await first.dispose();
    }
  });

  // A kept jail has a mount of its own of the workspace's files (the shell binds them into it): a stop
  // that unmounts leaves that filesystem alive, its image still attached to its loop device.
  it.each(['copy', 'overlay'] as const)('mounts a workspace that a kept jail still holds (%s) from the same loop device or not at all, never from a second one', async (cow) => {
    const first = await harness({ cow, quota: 'loop' });
    const jailView = path.join(first.tmp, 'jail-view');
    try {
      const ws = await first.app.workspaces.prepare({ source: { kind: 'empty' } });
      writeFileSync(path.join(ws.path, 'before.txt'), 'kept\n');
      mkdirSync(jailView);
      await runHostTool('mount', ['--bind', ws.path, jailView]);
      await first.app.stop({ unmount: true });
      const image = [first.app.storage.volumes.imageFile(ws.workspaceId)];
      expect((await loopDevicesUnder(first.root)).map((l) => l.backingFile)).toEqual(image);

      const second = await harness({ cow, quota: 'loop', tmp: first.tmp });
      const { remounted } = await second.app.lifecycle.recover();
      expect((await loopDevicesUnder(first.root)).map((l) => l.backingFile)).toEqual(image);
      if (cow === 'copy') {
        // One filesystem: what either side writes, the other reads.
        expect(remounted).toEqual([ws.workspaceId]);
        expect(readFileSync(path.join(ws.path, 'before.txt'), 'utf8')).toBe('kept\n');
        writeFileSync(path.join(jailView, 'jail.txt'), 'from the jail\n');
        expect(readFileSync(path.join(ws.path, 'jail.txt'), 'utf8')).toBe('from the jail\n');
        writeFileSync(path.join(ws.path, 'service.txt'), 'from the service\n');
        expect(readFileSync(path.join(jailView, 'service.txt'), 'utf8')).toBe('from the service\n');
      } else {
        // A second overlay on the live one's upper folder is undefined behaviour: refused, the jail's untouched.
        expect(remounted).toEqual([]);
        expect(await isMountPoint(first.app.storage.volumes.volDir(ws.workspaceId))).toBe(false);
        // Its operations are refused, not served from the empty folder it would otherwise be.
        await expect(second.app.files(ws.workspaceId)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('not mounted a second time') });
        expect(readFileSync(path.join(jailView, 'before.txt'), 'utf8')).toBe('kept\n');
      }
      await second.app.stop({ unmount: true });
    } finally {
      await unmount(jailView).catch(() => undefined);
      await first.dispose();
    }
  });

  it('removes workspaces idle past the timeout, and keeps active ones', async () => {
    const h: Harness = await harness({ config: { idleTimeoutMs: 60_000 } });
    try {
      const idle = await h.app.workspaces.prepare({ source: { kind: 'empty' } });
      const active = await h.app.workspaces.prepare({ source: { kind: 'empty' } });
      const busy = await h.app.workspaces.prepare({ source: { kind: 'empty' } });
      await h.app.lifecycle.sweep(); // first look at the space used
      for (const w of [idle, busy]) await h.app.workspaces.repo.update(w.workspaceId, { lastActiveAt: new Date(Date.now() - 120_000).toISOString() });
      // A jailed process writes to `busy` without any workspace command: that is activity too.
      writeFileSync(path.join(busy.path, 'out.bin'), Buffer.alloc(256 * 1024, 1));
      const { removed } = await h.app.lifecycle.sweep();
      expect(removed).toEqual([idle.workspaceId]);
      expect((await h.app.workspaces.get(busy.workspaceId)).workspaceId).toBe(busy.workspaceId);
      expect(h.events.find((e) => e.name === 'workspace.removed')?.payload).toMatchObject({ workspaceId: idle.workspaceId, reason: 'idle' });
      expect((await h.app.workspaces.get(active.workspaceId)).workspaceId).toBe(active.workspaceId);
      await expect(h.app.workspaces.get(idle.workspaceId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await h.dispose();
    }
  });
});
