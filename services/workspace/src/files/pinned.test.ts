import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildManifest } from '../snapshots/manifest';
import { PinnedTree, removeIn } from './pinned';

// What a jailed process can do to a tree while the service works in it, done here by the test itself.
describe('PinnedTree', () => {
  let tmp: string;
  let root: string;
  let secret: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pinned-'));
    root = path.join(tmp, 'ws');
    secret = path.join(tmp, 'secret');
    mkdirSync(path.join(root, 'd'), { recursive: true });
    mkdirSync(secret);
    writeFileSync(path.join(secret, 'passwd'), 'root:x:0:0\n');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('refuses a folder that is a link leading out', async () => {
    symlinkSync(secret, path.join(root, 'out'));
    const pins = new PinnedTree(root);
    await expect(pins.inDir('out', async () => undefined)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(pins.inParent('out/passwd', async () => undefined)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await pins.close();
  });

  it('keeps working in the folder it checked when that folder is swapped for a link afterwards', async () => {
    const pins = new PinnedTree(root);
    await pins.inDir('d', async (dir) => {
      // The swap: the checked folder moves away and a link to the secret folder takes its name.
      renameSync(path.join(root, 'd'), path.join(root, 'moved'));
      symlinkSync(secret, path.join(root, 'd'));
      await writeFile(`${dir}/passwd`, 'pwned');
    });
    await pins.close();
    expect(readFileSync(path.join(secret, 'passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(readFileSync(path.join(root, 'moved/passwd'), 'utf8')).toBe('pwned');
  });

  it('makes missing folders inside pinned parents only', async () => {
    const pins = new PinnedTree(root);
    await pins.inDir('a/b/c', async (dir) => writeFile(`${dir}/f`, 'x'), { create: true });
    symlinkSync(secret, path.join(root, 'link'));
    await expect(pins.inDir('link/new', async () => undefined, { create: true })).rejects.toMatchObject({ code: expect.stringMatching(/PATH_OUTSIDE_WORKSPACE|ENOTDIR|EEXIST/) });
    await pins.close();
    expect(readFileSync(path.join(root, 'a/b/c/f'), 'utf8')).toBe('x');
    expect(readdirSync(secret)).toEqual(['passwd']);
  });

  it('removes a tree recursively without following the links in it', async () => {
    mkdirSync(path.join(root, 'd/sub'), { recursive: true });
    writeFileSync(path.join(root, 'd/sub/f'), 'x');
    symlinkSync(secret, path.join(root, 'd/sub/out-dir'));
    symlinkSync(path.join(secret, 'passwd'), path.join(root, 'd/out-file'));
    const pins = new PinnedTree(root);
    await pins.inDir('', (dir) => removeIn(dir, 'd'));
    await pins.close();
    expect(existsSync(path.join(root, 'd'))).toBe(false);
    expect(readFileSync(path.join(secret, 'passwd'), 'utf8')).toBe('root:x:0:0\n');
  });

  it('describes links as links and reads nothing outside the tree', async () => {
    writeFileSync(path.join(root, 'd/own.txt'), 'own');
    symlinkSync(secret, path.join(root, 'd/out-dir'));
    symlinkSync(path.join(secret, 'passwd'), path.join(root, 'out-file'));
    const m = await buildManifest(root);
    expect(m.entries.map((e) => `${e.type}:${e.path}`)).toEqual(['dir:d', 'symlink:d/out-dir', 'file:d/own.txt', 'symlink:out-file']);
  });
});
