import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { harness, writeTree, type Harness } from './helpers';
import { buildManifest } from '../src/snapshots/manifest';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Snapshot → change → diff → restore, forks and their isolation, on real overlay mounts.
describe('snapshots, restore, diff and fork', () => {
  let h: Harness;
  let src: string;
  beforeAll(async () => {
    h = await harness();
    src = path.join(h.tmp, 'project');
    writeTree(src, {
      'package.json': JSON.stringify({ scripts: { test: 'jest', build: 'tsc' } }),
      'src/index.ts': 'export const a = 1;\nexport const b = 2;\n',
      'src/util.ts': 'export {};\n',
      'assets/logo.bin': Buffer.from([0, 1, 2, 3, 255, 0, 7]),
      'empty.txt': '',
    });
    chmodSync(path.join(src, 'src/util.ts'), 0o755);
    mkdirSync(path.join(src, 'emptydir'));
    symlinkSync('src/index.ts', path.join(src, 'link.ts'));
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('snapshot → change → diff → restore gives back the exact bytes, modes and links', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    const before = await buildManifest(ws.path);
    const snap = await h.app.snapshots.snapshot(ws.workspaceId, 'start');
    expect(snap.files).toBe(5);
    expect(snap.checksum).toMatch(/^[0-9a-f]{64}$/);

    writeFileSync(path.join(ws.path, 'src/index.ts'), 'export const a = 1;\nexport const b = 3;\n');
    writeFileSync(path.join(ws.path, 'new.txt'), 'brand new\n');
    unlinkSync(path.join(ws.path, 'src/util.ts'));
    writeFileSync(path.join(ws.path, 'assets/logo.bin'), Buffer.from([9, 0, 9]));
    rmSync(path.join(ws.path, 'emptydir'), { recursive: true });
    unlinkSync(path.join(ws.path, 'link.ts'));
    symlinkSync('elsewhere', path.join(ws.path, 'link.ts'));

    const d = await h.app.snapshots.diff(ws.workspaceId, snap.snapshotId, 'live');
    expect(d.added).toEqual(['new.txt']);
    expect(d.changed).toEqual(['assets/logo.bin', 'link.ts', 'src/index.ts']);
    expect(d.removed).toEqual(['src/util.ts']);
    expect(d.patch).toContain('-export const b = 2;');
    expect(d.patch).toContain('+export const b = 3;');
    expect(d.patch).toContain('+brand new');
    expect(d.patch).toContain('Binary files a/assets/logo.bin and b/assets/logo.bin differ');

    const snap2 = await h.app.snapshots.snapshot(ws.workspaceId, 'after');
    const d2 = await h.app.snapshots.diff(ws.workspaceId, snap.snapshotId, snap2.snapshotId);
    expect({ a: d2.added, c: d2.changed, r: d2.removed }).toEqual({ a: d.added, c: d.changed, r: d.removed });

    await h.app.snapshots.restore(ws.workspaceId, snap.snapshotId);
    const after = await buildManifest(ws.path);
    const strip = (m: typeof before) => m.entries.map(({ mtimeMs: _m, ...e }) => (e.type === 'dir' ? { ...e, size: 0 } : e));
    expect(strip(after)).toEqual(strip(before));
    expect(readFileSync(path.join(ws.path, 'assets/logo.bin'))).toEqual(Buffer.from([0, 1, 2, 3, 255, 0, 7]));
    expect(statSync(path.join(ws.path, 'src/util.ts')).mode & 0o777).toBe(0o755);
    expect(existsSync(path.join(ws.path, 'new.txt'))).toBe(false);
    const d3 = await h.app.snapshots.diff(ws.workspaceId, snap.snapshotId, 'live');
    expect([d3.added, d3.changed, d3.removed]).toEqual([[], [], []]);
    expect((await h.app.snapshots.list(ws.workspaceId)).map((s) => s.label)).toEqual(['start', 'after']);
    expect(h.events.map((e) => e.name)).toEqual(expect.arrayContaining(['workspace.snapshotted', 'workspace.restored']));
    await h.app.lifecycle.remove(ws.workspaceId);
  });

  it('stores unchanged content once (content-addressed blobs) and detects corruption', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    const s1 = await h.app.snapshots.snapshot(ws.workspaceId);
    const data = readFileSync(path.join(ws.path, 'src/index.ts'));
    const blob = h.app.storage.snapshots.blobs.pathOf(sha(data));
    expect(readFileSync(blob)).toEqual(data);
    const s2 = await h.app.snapshots.snapshot(ws.workspaceId);
    expect(s2.checksum).toBe(s1.checksum);
    writeFileSync(path.join(ws.path, 'src/index.ts'), 'changed\n');
    chmodSync(blob, 0o644);
    writeFileSync(blob, 'corrupted');
    await expect(h.app.snapshots.restore(ws.workspaceId, s1.snapshotId)).rejects.toThrow(/corrupted/);
    writeFileSync(blob, data);
    // A missing blob is found before anything is touched: the live state stays as it was.
    const other = h.app.storage.snapshots.blobs.pathOf(sha(readFileSync(path.join(src, 'package.json'))));
    renameSync(other, `${other}.away`);
    writeFileSync(path.join(ws.path, 'marker.txt'), 'still here');
    await expect(h.app.snapshots.restore(ws.workspaceId, s1.snapshotId)).rejects.toThrow(/missing from the blob store/);
    expect(readFileSync(path.join(ws.path, 'marker.txt'), 'utf8')).toBe('still here');
    expect(readFileSync(path.join(ws.path, 'src/index.ts'), 'utf8')).toBe('changed\n');
    renameSync(`${other}.away`, other);
    await h.app.snapshots.restore(ws.workspaceId, s1.snapshotId);
    expect(existsSync(path.join(ws.path, 'marker.txt'))).toBe(false);
    expect(readFileSync(path.join(ws.path, 'src/index.ts'))).toEqual(data);
    await h.app.lifecycle.remove(ws.workspaceId);
  });

  it('deletes a snapshot, freeing only the content no other snapshot holds', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    const s1 = await h.app.snapshots.snapshot(ws.workspaceId, 'one');
    writeFileSync(path.join(ws.path, 'only-in-two.txt'), 'unique to the second snapshot\n');
    const s2 = await h.app.snapshots.snapshot(ws.workspaceId, 'two');
    const onlyInTwo = h.app.storage.snapshots.blobs.pathOf(sha(Buffer.from('unique to the second snapshot\n')));
    const shared = h.app.storage.snapshots.blobs.pathOf(sha(readFileSync(path.join(src, 'src/index.ts'))));
    const fork = await h.app.snapshots.fork({ snapshotId: s2.snapshotId });
    expect(existsSync(onlyInTwo)).toBe(true);

    expect(await h.app.snapshots.delete(s2.snapshotId)).toBe(true);
    expect(await h.app.snapshots.delete(s2.snapshotId)).toBe(false);
    expect(existsSync(onlyInTwo)).toBe(false);
    expect(existsSync(shared)).toBe(true);
    expect((await h.app.snapshots.list(ws.workspaceId)).map((x) => x.label)).toEqual(['one']);
    await expect(h.app.snapshots.restore(ws.workspaceId, s2.snapshotId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The fork made from it keeps its files; the other snapshot still restores exactly.
    expect(readFileSync(path.join(fork.view.path, 'only-in-two.txt'), 'utf8')).toBe('unique to the second snapshot\n');
    await h.app.snapshots.restore(ws.workspaceId, s1.snapshotId);
    expect(existsSync(path.join(ws.path, 'only-in-two.txt'))).toBe(false);
    expect(readFileSync(path.join(ws.path, 'src/index.ts'))).toEqual(readFileSync(path.join(src, 'src/index.ts')));
    // The same content written again is stored again by the next snapshot.
    writeFileSync(path.join(ws.path, 'only-in-two.txt'), 'unique to the second snapshot\n');
    await h.app.snapshots.snapshot(ws.workspaceId, 'three');
    expect(existsSync(onlyInTwo)).toBe(true);
    await h.app.lifecycle.remove(fork.view.workspaceId);
    await h.app.lifecycle.remove(ws.workspaceId);
  });

  it('forks a live workspace: the child sees the parent state; writes stay on their side', async () => {
    const parent = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    writeFileSync(path.join(parent.path, 'parent-change.txt'), 'p1\n');
    unlinkSync(path.join(parent.path, 'src/util.ts'));
    // A folder of the lower layer replaced whole: overlay marks the new one opaque (a trusted.* xattr).
    rmSync(path.join(parent.path, 'assets'), { recursive: true });
    mkdirSync(path.join(parent.path, 'assets'));
    writeFileSync(path.join(parent.path, 'assets/new.bin'), 'n');
    const child = await h.app.snapshots.fork({ workspaceId: parent.workspaceId });
    expect(child.view.storage.layers).toBe(2);
    expect(readdirSync(path.join(child.view.path, 'assets'))).toEqual(['new.bin']);
    expect(readFileSync(path.join(child.view.path, 'parent-change.txt'), 'utf8')).toBe('p1\n');
    expect(existsSync(path.join(child.view.path, 'src/util.ts'))).toBe(false);

    writeFileSync(path.join(child.view.path, 'src/index.ts'), 'child\n');
    writeFileSync(path.join(child.view.path, 'child-only.txt'), 'c\n');
    writeFileSync(path.join(parent.path, 'parent-later.txt'), 'later\n');
    expect(readFileSync(path.join(parent.path, 'src/index.ts'), 'utf8')).toBe('export const a = 1;\nexport const b = 2;\n');
    expect(existsSync(path.join(parent.path, 'child-only.txt'))).toBe(false);
    expect(existsSync(path.join(child.view.path, 'parent-later.txt'))).toBe(false);

    // A grandchild of the child stacks one more layer and still sees everything.
    const grandchild = await h.app.snapshots.fork({ workspaceId: child.view.workspaceId });
    expect(readFileSync(path.join(grandchild.view.path, 'child-only.txt'), 'utf8')).toBe('c\n');
    expect(existsSync(path.join(grandchild.view.path, 'src/util.ts'))).toBe(false);

    // Removing the parent leaves the forks working (they hold their own frozen layers).
    await h.app.lifecycle.remove(parent.workspaceId);
    expect(readFileSync(path.join(child.view.path, 'parent-change.txt'), 'utf8')).toBe('p1\n');
    const forkedFrom = h.events.filter((e) => e.name === 'workspace.forked').map((e) => (e.payload as { fromWorkspaceId?: string }).fromWorkspaceId);
    expect(forkedFrom).toEqual(expect.arrayContaining([parent.workspaceId, child.view.workspaceId]));
    await h.app.lifecycle.remove(grandchild.view.workspaceId);
    await h.app.lifecycle.remove(child.view.workspaceId);
  });

  it('forks an unchanged workspace onto the same layers, still isolated', async () => {
    const parent = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    const child = await h.app.snapshots.fork({ workspaceId: parent.workspaceId });
    expect(child.view.storage.layers).toBe(1);
    writeFileSync(path.join(child.view.path, 'src/index.ts'), 'child\n');
    expect(readFileSync(path.join(parent.path, 'src/index.ts'), 'utf8')).toBe('export const a = 1;\nexport const b = 2;\n');
    await h.app.lifecycle.remove(parent.workspaceId);
    expect(readFileSync(path.join(child.view.path, 'src/util.ts'), 'utf8')).toBe('export {};\n');
    await h.app.lifecycle.remove(child.view.workspaceId);
  });

  it('forks from a snapshot: the snapshot state, whatever the source did since', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    const snap = await h.app.snapshots.snapshot(ws.workspaceId);
    writeFileSync(path.join(ws.path, 'src/index.ts'), 'later\n');
    const f = await h.app.snapshots.fork({ snapshotId: snap.snapshotId });
    expect(readFileSync(path.join(f.view.path, 'src/index.ts'), 'utf8')).toBe('export const a = 1;\nexport const b = 2;\n');
    expect(statSync(path.join(f.view.path, 'src/util.ts')).mode & 0o777).toBe(0o755);
    // A write in the fork does not reach the blob store it was built from (copy-up, not in place).
    writeFileSync(path.join(f.view.path, 'package.json'), 'overwritten');
    const blobPath = h.app.storage.snapshots.blobs.pathOf(sha(readFileSync(path.join(src, 'package.json'))));
    expect(readFileSync(blobPath, 'utf8')).toBe(readFileSync(path.join(src, 'package.json'), 'utf8'));
    await h.app.lifecycle.remove(f.view.workspaceId);
    await h.app.lifecycle.remove(ws.workspaceId);
    await expect(h.app.snapshots.fork({ snapshotId: 'snap_missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('copy fallback (no overlay)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ cow: 'copy' });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('says it copies, and forks stay isolated', async () => {
    const src = path.join(h.tmp, 'p');
    writeTree(src, { 'a.txt': 'a\n' });
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    expect(ws.storage.mode).toBe('copy');
    expect(ws.storage.notes.join(' ')).toMatch(/full copies/);
    const f = await h.app.snapshots.fork({ workspaceId: ws.workspaceId });
    writeFileSync(path.join(f.view.path, 'a.txt'), 'fork\n');
    expect(readFileSync(path.join(ws.path, 'a.txt'), 'utf8')).toBe('a\n');
    await h.app.lifecycle.remove(f.view.workspaceId);
    await h.app.lifecycle.remove(ws.workspaceId);
  });
});
