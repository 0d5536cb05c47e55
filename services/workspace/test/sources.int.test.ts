import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { git, harness, makeRepo, writeTree, type Harness } from './helpers';
import { listMounts, loopDevicesUnder } from '../src/volumes/mounts';

// Each source kind, prepared on real mounts, and removal that leaves nothing behind.
describe('workspace sources (real filesystems, real git)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('uses overlay and loop quotas on this host (root), or says why not', () => {
    expect(h.app.storage.caps.overlay).toBe(true);
    expect(h.app.storage.caps.loop).toBe(true);
    expect(h.app.storage.caps.confinedCopy).toBe(true);
  });

  it('prepares from a local folder: a copy-on-write view, the source untouched by writes', async () => {
    const src = path.join(h.tmp, 'src-folder');
    writeTree(src, { 'README.md': 'hello\n', 'lib/a.js': 'module.exports = 1;\n' });
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src }, owner: 'alice' });
    expect(ws.storage.mode).toBe('overlay');
    expect(ws.storage.quota).toBe('hard');
    expect(readFileSync(path.join(ws.path, 'lib/a.js'), 'utf8')).toBe('module.exports = 1;\n');
    writeFileSync(path.join(ws.path, 'README.md'), 'changed\n');
    expect(readFileSync(path.join(src, 'README.md'), 'utf8')).toBe('hello\n');
    // A second workspace of the unchanged folder shares the first one's layer.
    const ws2 = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    const r1 = await h.app.workspaces.repo.get(ws.workspaceId);
    const r2 = await h.app.workspaces.repo.get(ws2.workspaceId);
    expect(r2!.layers).toEqual(r1!.layers);
    expect(readFileSync(path.join(ws2.path, 'README.md'), 'utf8')).toBe('hello\n');
    expect(h.events.filter((e) => e.name === 'workspace.prepared')).toHaveLength(2);
    await h.app.lifecycle.remove(ws.workspaceId);
    // The shared layer stays while ws2 uses it.
    expect(readFileSync(path.join(ws2.path, 'lib/a.js'), 'utf8')).toBe('module.exports = 1;\n');
    await h.app.lifecycle.remove(ws2.workspaceId);
  });

  it('prepares from a local git repository as a worktree on a new branch, removed with the workspace', async () => {
    const repo = makeRepo(path.join(h.tmp, 'repo-wt'), { 'main.go': 'package main\n', 'go.mod': 'module x\n' });
    const ws = await h.app.workspaces.prepare({ source: { kind: 'worktree', path: repo } });
    expect(ws.storage.mode).toBe('worktree');
    expect(readFileSync(path.join(ws.path, 'main.go'), 'utf8')).toBe('package main\n');
    const branch = `codeagent/${ws.workspaceId}`;
    expect(git(repo, 'worktree', 'list')).toContain(ws.path);
    expect(git(repo, 'branch', '--list', branch)).toContain(branch);
    expect((await h.app.discover({ workspaceId: ws.workspaceId })).toolchain).toBe('go');
    // The project's own folder, read in place (a project's discovery before any session).
    expect(await h.app.discover({ source: { kind: 'worktree', path: repo } })).toMatchObject({ tier: 'language', languages: ['go'], testCommand: 'go test ./...' });
    await h.app.lifecycle.remove(ws.workspaceId);
    expect(git(repo, 'worktree', 'list')).not.toContain(ws.path);
    // Nothing was committed on the branch, so it went too.
    expect(git(repo, 'branch', '--list', branch)).toBe('');
  });

  it('clones a git URL (file://)', async () => {
    const repo = makeRepo(path.join(h.tmp, 'repo-url'), { 'Cargo.toml': '[package]\nname="x"\n' });
    git(repo, 'checkout', '-q', '-b', 'feature');
    writeFileSync(path.join(repo, 'feature.txt'), 'f\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'feature');
    git(repo, 'checkout', '-q', 'main');
    const ws = await h.app.workspaces.prepare({ source: { kind: 'git', url: `file://${repo}`, ref: 'feature' } });
    expect(readFileSync(path.join(ws.path, 'feature.txt'), 'utf8')).toBe('f\n');
    expect(existsSync(path.join(ws.path, '.git'))).toBe(true);
    await expect(h.app.workspaces.prepare({ source: { kind: 'git', url: `file://${h.tmp}/nope` } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.app.workspaces.prepare({ source: { kind: 'git', url: path.join(h.tmp, 'repo-url'), ref: 'no-such-ref' } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await h.app.lifecycle.remove(ws.workspaceId);
  });

  it('prepares an empty workspace', async () => {
    const ws = await h.app.workspaces.prepare({ source: { kind: 'empty' }, quotaMb: 8 });
    writeFileSync(path.join(ws.path, 'new.txt'), 'x');
    expect((await h.app.workspaces.get(ws.workspaceId)).usedBytes).toBeGreaterThan(0);
    await h.app.lifecycle.remove(ws.workspaceId);
  });

  it('works on repositories owned by another user (the service is root, the user is not)', async () => {
    const repo = makeRepo(path.join(h.tmp, 'users-repo'), { 'a.txt': 'mine\n' });
    execFileSync('chown', ['-R', '65534:65534', repo]);
    const wt = await h.app.workspaces.prepare({ source: { kind: 'worktree', path: repo } });
    expect(readFileSync(path.join(wt.path, 'a.txt'), 'utf8')).toBe('mine\n');
    const clone = await h.app.workspaces.prepare({ source: { kind: 'git', url: `file://${repo}` } });
    expect(readFileSync(path.join(clone.path, 'a.txt'), 'utf8')).toBe('mine\n');
    await h.app.lifecycle.remove(wt.workspaceId);
    await h.app.lifecycle.remove(clone.workspaceId);
    expect(git(repo, '-c', 'safe.directory=*', 'worktree', 'list').trim().split('\n')).toHaveLength(1);
  });

  it('refuses missing sources, data-folder sources and odd git URLs clearly', async () => {
    await expect(h.app.workspaces.prepare({ source: { kind: 'path', path: path.join(h.tmp, 'missing') } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.app.workspaces.prepare({ source: { kind: 'path', path: h.root } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // A folder holding the data folder would be copied into itself.
    await expect(h.app.workspaces.prepare({ source: { kind: 'path', path: h.tmp } })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/WORKSPACE_DATA_DIR/) });
    await expect(h.app.workspaces.prepare({ source: { kind: 'git', url: `file://${h.root}` } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const plain = path.join(h.tmp, 'not-a-repo');
    writeTree(plain, { 'x.txt': 'x' });
    await expect(h.app.workspaces.prepare({ source: { kind: 'worktree', path: plain } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    for (const url of ['ext::sh -c touch% /tmp/pwned', 'relative/repo', 'file://otherhost/repo']) {
      await expect(h.app.workspaces.prepare({ source: { kind: 'git', url } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(await h.app.workspaces.repo.list()).toEqual([]);
  });

  it('applies WORKSPACE_ALLOWED_ROOTS to local git URLs as to folders', async () => {
    const allowed = path.join(h.tmp, 'allowed');
    const other = makeRepo(path.join(h.tmp, 'elsewhere'), { 'secret.txt': 's' });
    const h2 = await harness({ config: { allowedRoots: [allowed] } });
    try {
      for (const source of [{ kind: 'git' as const, url: other }, { kind: 'git' as const, url: `file://${other}` }, { kind: 'path' as const, path: other }, { kind: 'worktree' as const, path: other }]) {
        await expect(h2.app.workspaces.prepare({ source })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      }
      const ok = makeRepo(path.join(allowed, 'repo'), { 'fine.txt': 'f' });
      const ws = await h2.app.workspaces.prepare({ source: { kind: 'git', url: ok } });
      expect(readFileSync(path.join(ws.path, 'fine.txt'), 'utf8')).toBe('f');
    } finally {
      await h2.dispose();
    }
  });

  it('leaves nothing behind: no mounts, loop devices, folders, layers or records', async () => {
    expect((await listMounts()).filter((m) => m.mountPoint.startsWith(h.root))).toEqual([]);
    expect(await loopDevicesUnder(h.root)).toEqual([]);
    expect(await h.app.storage.volumes.listOnDisk()).toEqual([]);
    expect(await h.app.workspaces.repo.list()).toEqual([]);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(h.app.storage.layers.root).filter((n) => n !== 'empty')).toEqual([]);
  });
});
