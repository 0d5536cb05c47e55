import { openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BubblewrapDriver } from '@codeagent/sandbox';
import { harness, type Harness } from './helpers';

function fill(file: string, mb: number): NodeJS.ErrnoException | undefined {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  try {
    for (let i = 0; i < mb; i++) writeSync(fd, chunk);
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  } finally {
    closeSync(fd);
  }
}

// Hard quotas: a loop-mounted ext4 image per workspace holds its overlay upper.
describe('disk quotas', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ config: { globalCapMb: 100 } });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('stops a direct write past the quota with ENOSPC, other workspaces untouched', async () => {
    const a = await h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 20 });
    const b = await h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 20 });
    const err = fill(path.join(a.path, 'big'), 40);
    expect(err?.code).toBe('ENOSPC');
    const used = (await h.app.workspaces.get(a.workspaceId)).usedBytes;
    expect(used).toBeGreaterThan(15 * 1024 * 1024);
    expect(used).toBeLessThanOrEqual(22 * 1024 * 1024);
    expect(fill(path.join(b.path, 'ok'), 10)).toBeUndefined();

    // The file API answers QUOTA_EXCEEDED and the event is published once.
    await expect(
      (async () => {
        const { files } = await h.app.files(a.workspaceId);
        return h.app.lifecycle.guardWrite(a.workspaceId, () => files.write('more.bin', Buffer.alloc(4 * 1024 * 1024, 1)));
      })(),
    ).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await h.app.lifecycle.sweep();
    expect(h.events.filter((e) => e.name === 'workspace.quota_exceeded').map((e) => (e.payload as { workspaceId: string }).workspaceId)).toEqual([a.workspaceId]);
    await h.app.lifecycle.remove(a.workspaceId);
    await h.app.lifecycle.remove(b.workspaceId);
  });

  it('stops a write inside the real jail (libs/sandbox, as the shell runs it) with ENOSPC', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 10 });
    const sandbox = await new BubblewrapDriver().open({ workspaceDir: ws.path, network: 'none' });
    try {
      const full = await sandbox.exec('dd if=/dev/zero of=/workspace/big bs=1M count=30', { timeoutMs: 30_000 });
      expect(full.exitCode).not.toBe(0);
      expect(full.stderr).toMatch(/No space left on device/);
      expect((await h.app.workspaces.get(ws.workspaceId)).usedBytes).toBeLessThanOrEqual(12 * 1024 * 1024);
      // The sweep sees the full volume (the jail's write never reached the service) and says so once.
      await h.app.lifecycle.sweep();
      await h.app.lifecycle.sweep();
      expect(h.events.filter((e) => e.name === 'workspace.quota_exceeded' && (e.payload as { workspaceId: string }).workspaceId === ws.workspaceId)).toHaveLength(1);
      // Freeing space makes it writable again, in the jail too.
      const { files } = await h.app.files(ws.workspaceId);
      await files.delete('big', false);
      expect((await sandbox.exec('echo ok > /workspace/note.txt && cat /workspace/note.txt')).stdout).toBe('ok\n');
      expect(readFileSync(path.join(ws.path, 'note.txt'), 'utf8')).toBe('ok\n');
    } finally {
      await sandbox.close();
    }
    await h.app.lifecycle.remove(ws.workspaceId);
  });

  it('enforces the global cap on the sum of quotas', async () => {
    const a = await h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 60 });
    await expect(h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 50 })).rejects.toMatchObject({ code: 'LIMIT_REACHED' });
    await expect(h.app.snapshots.fork({ workspaceId: a.workspaceId })).rejects.toMatchObject({ code: 'LIMIT_REACHED' });
    await h.app.lifecycle.remove(a.workspaceId);
    // Two at once cannot both fit under the cap.
    const both = await Promise.allSettled([60, 60].map((quotaMb) => h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb })));
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    for (const r of both) if (r.status === 'fulfilled') await h.app.lifecycle.remove(r.value.workspaceId);
  });
});

describe('soft quotas (no loop images)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ quota: 'none' });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('refuses file API writes past the quota and says the quota is soft', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 1 });
    expect(ws.storage.quota).toBe('soft');
    await expect(
      h.app.lifecycle.guardWrite(ws.workspaceId, async () => {
        await h.app.checkSoftQuota(ws.workspaceId, 2 * 1024 * 1024);
      }),
    ).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await h.app.lifecycle.remove(ws.workspaceId);
  });
});
