import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { harness, writeTree, type Harness } from './helpers';
import { WorkspaceFiles } from '../src/files/file-ops';

// The file API on a real overlay workspace: traversal and symlink escapes refused, .gitignore honoured.
describe('file API', () => {
  let h: Harness;
  let files: WorkspaceFiles;
  let wsPath: string;
  let outsideDir: string;
  beforeAll(async () => {
    h = await harness();
    outsideDir = path.join(h.tmp, 'secret');
    writeTree(outsideDir, { 'passwd': 'root:x:0:0\n' });
    const src = path.join(h.tmp, 'proj');
    writeTree(src, {
      '.gitignore': 'node_modules/\n*.log\n',
      'src/a.ts': 'const needle = 1;\nconst hay = 2;\n',
      'src/sub/.gitignore': 'generated.ts\n',
      'src/sub/generated.ts': 'needle in generated\n',
      'src/sub/kept.ts': 'kept needle\n',
      'node_modules/x/index.js': 'needle\n',
      'debug.log': 'needle\n',
      'bin.dat': Buffer.from([0, 0, 1, 2, 110, 101, 101, 100, 108, 101]),
    });
    const ws = await h.app.workspaces.prepare({ source: { kind: 'path', path: src } });
    wsPath = ws.path;
    // Links a sandboxed process could plant: out of the workspace, absolute and relative, and one inside.
    symlinkSync(outsideDir, path.join(wsPath, 'escape-dir'));
    symlinkSync(path.join(outsideDir, 'passwd'), path.join(wsPath, 'escape-file'));
    symlinkSync('../../secret', path.join(wsPath, 'src/rel-escape'));
    symlinkSync('src/a.ts', path.join(wsPath, 'inside-link'));
    files = (await h.app.files(ws.workspaceId)).files;
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('reads text, detects binary, lists folders', async () => {
    const a = await files.read('src/a.ts');
    expect(a).toMatchObject({ type: 'file', encoding: 'utf8', binary: false, content: 'const needle = 1;\nconst hay = 2;\n' });
    const b = await files.read('/workspace/bin.dat');
    expect(b).toMatchObject({ type: 'file', encoding: 'base64', binary: true });
    expect(Buffer.from((b as { content: string }).content, 'base64')).toEqual(Buffer.from([0, 0, 1, 2, 110, 101, 101, 100, 108, 101]));
    const d = await files.read('src');
    expect(d.type).toBe('dir');
    await expect(files.read('nope.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await files.read('inside-link')).type).toBe('file');
  });

  it.each([
    ['../secret/passwd'],
    ['src/../../secret/passwd'],
    ['/workspace/../secret/passwd'],
    ['escape-file'],
    ['escape-dir/passwd'],
    ['src/rel-escape/passwd'],
  ])('refuses %s with PATH_OUTSIDE_WORKSPACE on every operation', async (p) => {
    await expect(files.read(p)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(files.write(p, Buffer.from('pwned'))).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(files.list(p, false)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(files.search(p, 'root', false, 10)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    expect(readFileSync(path.join(outsideDir, 'passwd'), 'utf8')).toBe('root:x:0:0\n');
  });

  it('refuses writes through a symlinked folder leading out, and moves out of the workspace', async () => {
    await expect(files.write('escape-dir/new.txt', Buffer.from('x'))).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(files.move('src/a.ts', '../stolen.ts')).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(files.move('src/a.ts', 'escape-dir/stolen.ts')).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(files.delete('escape-dir/passwd', false)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    expect(readdirSync(outsideDir)).toEqual(['passwd']);
    // A link itself can be stat'ed and deleted (that does not touch its target).
    expect((await files.stat('escape-file')).type).toBe('symlink');
  });

  it('writes atomically (no temp files left), creating folders, keeping modes', async () => {
    expect(await files.write('deep/new/file.txt', Buffer.from('hello'))).toEqual({ path: 'deep/new/file.txt', size: 5 });
    expect(readFileSync(path.join(wsPath, 'deep/new/file.txt'), 'utf8')).toBe('hello');
    await files.write('deep/new/file.txt', Buffer.from('again'));
    expect(readdirSync(path.join(wsPath, 'deep/new'))).toEqual(['file.txt']);
    await expect(files.write('src', Buffer.from('x'))).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(files.write('big', Buffer.alloc(6 * 1024 * 1024))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('lists honouring nested .gitignore files', async () => {
    const { entries } = await files.list('.', true);
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['src/a.ts', 'src/sub/kept.ts', '.gitignore']));
    expect(paths).not.toContain('node_modules');
    expect(paths).not.toContain('debug.log');
    expect(paths).not.toContain('src/sub/generated.ts');
    const sub = await files.list('src/sub', false);
    expect(sub.entries.map((e) => e.path)).toEqual(['src/sub/.gitignore', 'src/sub/kept.ts']);
  });

  it('searches text files only, honouring .gitignore, plain and regex', async () => {
    const r = await files.search('.', 'needle', false, 100);
    expect(r.matches.map((m) => `${m.path}:${m.line}`).sort()).toEqual(['src/a.ts:1', 'src/sub/kept.ts:1']);
    const re = await files.search('src', '^const \\w+ = 2', true, 100);
    expect(re.matches).toEqual([{ path: 'src/a.ts', line: 2, text: 'const hay = 2;' }]);
    await expect(files.search('.', '(', true, 10)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // One file can be searched by its path; a missing path is NOT_FOUND, not an empty result.
    expect((await files.search('src/a.ts', 'hay', false, 10)).matches).toEqual([{ path: 'src/a.ts', line: 2, text: 'const hay = 2;' }]);
    await expect(files.search('nope', 'x', false, 10)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stops a catastrophically backtracking regular expression with a clear error, and keeps serving', async () => {
    await files.write('redos.txt', Buffer.from(`${'a'.repeat(40)}b\n`));
    const quick = new WorkspaceFiles(files.root, { ...files.limits, searchBudgetMs: 300 });
    const t = Date.now();
    await expect(quick.search('redos.txt', '(a+)+$', true, 10)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/simplify the regular expression/) });
    expect(Date.now() - t).toBeLessThan(10_000); // the budget, not the hours the pattern would take
    expect((await quick.search('redos.txt', 'a+b', true, 10)).matches).toHaveLength(1);
    await files.delete('redos.txt', false);
  });

  it('stats, moves, deletes', async () => {
    expect(await files.stat('src/a.ts')).toMatchObject({ type: 'file', size: 33, name: 'a.ts' });
    await files.move('deep/new/file.txt', 'moved/file.txt');
    expect(readFileSync(path.join(wsPath, 'moved/file.txt'), 'utf8')).toBe('again');
    await expect(files.move('src/a.ts', 'src/sub/kept.ts')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(files.move('no-such-file', 'made/for/nothing.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(existsSync(path.join(wsPath, 'made'))).toBe(false);
    mkdirSync(path.join(wsPath, 'full'));
    writeFileSync(path.join(wsPath, 'full/x'), 'x');
    await expect(files.delete('full', false)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await files.delete('full', true)).toEqual({ deleted: true });
    expect(await files.delete('full', true)).toEqual({ deleted: false });
    await expect(files.delete('.', true)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(files.delete('..', true)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
  });
});
