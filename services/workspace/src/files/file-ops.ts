import { randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createContext, Script, type Context } from 'node:vm';
import { AppError } from '@codeagent/contracts';
import { isBinary } from './binary';
import { openFileInside, PinnedTree, removeIn } from './pinned';
import { isInside, outside, resolveInside } from './resolve';
import { walkTree } from './walk';

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtime: string;
}

export interface FileLimits {
  /** Largest file read or written through the API. */
  maxFileBytes: number;
  /** Most entries a listing returns. */
  maxListEntries: number;
  /** Time a search's regular expression may run in all (default 5 s). */
  searchBudgetMs?: number;
}

/**
 * The file API over one workspace root (a real path). Every operation resolves its paths with
 * resolveInside; then reads check the opened descriptor's real path, and changes go through pinned
 * parent folders (PinnedTree), so a symlink swapped in by a jailed process between the check and
 * the use is caught too.
 */
export class WorkspaceFiles {
  constructor(
    readonly root: string,
    readonly limits: FileLimits,
  ) {}

  async read(rel: string): Promise<{ type: 'file'; path: string; content: string; encoding: 'utf8' | 'base64'; size: number; binary: boolean } | { type: 'dir'; path: string; entries: FileEntry[] }> {
    const { abs, rel: clean } = await resolveInside(this.root, rel);
    const s = await stat(abs).catch((err) => notFound(err, rel));
    if (s.isDirectory()) return { type: 'dir', path: clean, entries: (await this.list(clean, false)).entries };
    if (!s.isFile()) throw new AppError('INVALID_STATE', `${rel} is not a regular file`);
    if (s.size > this.limits.maxFileBytes) throw tooLarge(rel, s.size, this.limits.maxFileBytes);
    const fh = await openFileInside(this.root, abs, rel).catch((err) => notFound(err, rel));
    try {
      const data = await readCapped(fh, this.limits.maxFileBytes);
      if (!data) throw tooLarge(rel, (await fh.stat()).size, this.limits.maxFileBytes);
      const binary = isBinary(data);
      return { type: 'file', path: clean, content: data.toString(binary ? 'base64' : 'utf8'), encoding: binary ? 'base64' : 'utf8', size: data.length, binary };
    } finally {
      await fh.close();
    }
  }

  /**
   * Writes atomically: a temp file beside the target, fsync, then a rename over it. Folders are made,
   * and the rename done, inside pinned parents (PinnedTree), so a folder swapped for a link by the
   * jail meanwhile cannot send the write outside.
   */
  async write(rel: string, content: Buffer): Promise<{ path: string; size: number }> {
    if (content.length > this.limits.maxFileBytes) throw tooLarge(rel, content.length, this.limits.maxFileBytes);
    const { abs, rel: clean } = await resolveInside(this.root, rel);
    if (abs === this.root) throw new AppError('INVALID_STATE', 'cannot write over the workspace root');
    const pins = new PinnedTree(this.root);
    try {
      await pins.inParent(this.relOf(abs), async (dir, name) => {
        const existing = await lstat(`${dir}/${name}`).catch(() => undefined);
        if (existing?.isDirectory()) throw new AppError('CONFLICT', `${rel} is a folder`);
        const tmp = `${dir}/.${name}.${randomUUID()}.tmp`;
        const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, existing ? existing.mode & 0o7777 : 0o644);
        let done = false;
        try {
          await fh.writeFile(content);
          await fh.sync();
          await fh.close();
          await rename(tmp, `${dir}/${name}`);
          done = true;
        } finally {
          if (!done) {
            await fh.close().catch(() => undefined);
            await unlink(tmp).catch(() => undefined);
          }
        }
      }, { create: true });
    } catch (err) {
      throw pinError(err, rel);
    } finally {
      await pins.close();
    }
    return { path: clean, size: content.length };
  }

  /** `abs` (inside the root) relative to it, '/'-separated. */
  private relOf(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  async list(rel: string, recursive: boolean): Promise<{ entries: FileEntry[]; truncated: boolean }> {
    const { abs, rel: clean } = await resolveInside(this.root, rel);
    const s = await stat(abs).catch((err) => notFound(err, rel));
    if (!s.isDirectory()) throw new AppError('INVALID_STATE', `${rel} is not a folder`);
    const entries: FileEntry[] = [];
    // A start below a symlinked folder walks its real path, which resolveInside proved is inside.
    const start = path.relative(this.root, abs);
    for await (const e of walkTree(this.root, start, { recursive })) {
      if (entries.length >= this.limits.maxListEntries) return { entries, truncated: true };
      const st = e.stat;
      const shown = clean ? path.posix.join(clean, path.relative(abs, e.abs).split(path.sep).join('/')) : e.rel;
      entries.push({ name: e.name, path: shown, type: e.kind, size: e.kind === 'file' ? st.size : 0, mtime: st.mtime.toISOString() });
    }
    return { entries, truncated: false };
  }

  /**
   * Lines matching `query` in the text files under `rel` (or in the file `rel`). The caller's regular
   * expression runs in a vm context with a time budget: a catastrophically backtracking pattern is
   * stopped with a clear error instead of freezing the service.
   */
  async search(rel: string, query: string, regex: boolean, maxResults: number): Promise<{ matches: { path: string; line: number; text: string }[]; truncated: boolean }> {
    let re: RegExp;
    try {
      re = regex ? new RegExp(query) : new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    } catch (err) {
      throw new AppError('VALIDATION_FAILED', `invalid regular expression: ${(err as Error).message}`);
    }
    const { abs } = await resolveInside(this.root, rel);
    const s = await stat(abs).catch((err) => notFound(err, rel));
    const matcher = new LineMatcher(re, this.limits.searchBudgetMs ?? SEARCH_BUDGET_MS);
    const matches: { path: string; line: number; text: string }[] = [];
    const files = s.isDirectory() ? walkTree(this.root, path.relative(this.root, abs), { recursive: true }) : single(this.relOf(abs), abs, s);
    for await (const e of files) {
      if (e.kind !== 'file' || e.stat.size > this.limits.maxFileBytes) continue;
      const data = await readInside(this.root, e.abs, this.limits.maxFileBytes);
      if (!data || isBinary(data)) continue;
      const lines = data.toString('utf8').split('\n');
      for (const i of matcher.match(lines)) {
        if (matches.length >= maxResults) return { matches, truncated: true };
        const line = lines[i]!;
        matches.push({ path: e.rel, line: i + 1, text: line.length > 500 ? `${line.slice(0, 500)}…` : line });
      }
    }
    return { matches, truncated: false };
  }

  async stat(rel: string): Promise<FileEntry> {
    const { abs, rel: clean } = await resolveInside(this.root, rel, { followLast: false });
    const s = await lstat(abs).catch((err) => notFound(err, rel));
    const type = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : 'other';
    return { name: clean ? path.posix.basename(clean) : '', path: clean, type, size: type === 'file' ? s.size : 0, mtime: s.mtime.toISOString() };
  }

  async move(from: string, to: string): Promise<{ from: string; to: string }> {
    const a = await resolveInside(this.root, from, { followLast: false });
    const b = await resolveInside(this.root, to, { followLast: false });
    if (a.abs === this.root || b.abs === this.root) throw new AppError('INVALID_STATE', 'cannot move the workspace root');
    if (isInside(a.abs, b.abs)) throw new AppError('INVALID_STATE', `cannot move ${from} into itself`);
    const pins = new PinnedTree(this.root);
    try {
      // Both folders pinned: a parent swapped for a link meanwhile cannot move a host file in or out.
      await pins.inParent(this.relOf(a.abs), async (srcDir, srcName) => {
        // Checked before the destination's folders are made, so a missing source leaves nothing behind.
        if (!(await lstat(`${srcDir}/${srcName}`).catch(() => undefined))) throw new AppError('NOT_FOUND', `${from} does not exist`);
        await pins.inParent(this.relOf(b.abs), async (dstDir, dstName) => {
          if (await lstat(`${dstDir}/${dstName}`).catch(() => undefined)) throw new AppError('CONFLICT', `${to} exists already`);
          await rename(`${srcDir}/${srcName}`, `${dstDir}/${dstName}`);
        }, { create: true });
      });
    } catch (err) {
      throw pinError(err, from);
    } finally {
      await pins.close();
    }
    return { from: a.rel, to: b.rel };
  }

  async delete(rel: string, recursive: boolean): Promise<{ deleted: boolean }> {
    const { abs } = await resolveInside(this.root, rel, { followLast: false });
    if (abs === this.root) throw new AppError('INVALID_STATE', 'cannot delete the workspace root');
    const pins = new PinnedTree(this.root);
    try {
      return await pins.inParent(this.relOf(abs), async (dir, name) => {
        const s = await lstat(`${dir}/${name}`).catch(() => undefined);
        if (!s) return { deleted: false };
        if (s.isDirectory() && !recursive) {
          await rmdir(`${dir}/${name}`).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOTEMPTY') throw new AppError('CONFLICT', `${rel} is not empty: pass recursive to delete it`);
            throw err;
          });
        } else await removeIn(dir, name);
        return { deleted: true };
      });
    } catch (err) {
      throw pinError(err, rel);
    } finally {
      await pins.close();
    }
  }
}

/** Total time a search's regular expression may run by default, over all files. */
const SEARCH_BUDGET_MS = 5_000;
/** Lines are matched on their first 10,000 characters (minified files have megabyte lines). */
const MATCH_SCRIPT = new Script('out.length = 0; for (let i = 0; i < lines.length; i++) if (re.test(lines[i].length > 10000 ? lines[i].slice(0, 10000) : lines[i])) out.push(i);');

/** Runs a regular expression over lines in a vm context, so that a time budget can interrupt it. */
class LineMatcher {
  private readonly ctx: Context & { lines: string[]; out: number[] };
  /** Matching time left; reading files does not count. */
  private left: number;
  constructor(
    re: RegExp,
    private readonly budgetMs: number,
  ) {
    this.ctx = createContext({ re, lines: [] as string[], out: [] as number[] }) as Context & { lines: string[]; out: number[] };
    this.left = budgetMs;
  }
  match(lines: string[]): number[] {
    this.ctx.lines = lines;
    const t = Date.now();
    try {
      if (this.left < 1) throw new Error('no time left');
      MATCH_SCRIPT.runInContext(this.ctx, { timeout: Math.ceil(this.left) });
    } catch {
      throw new AppError('VALIDATION_FAILED', `matching took longer than ${this.budgetMs} ms: simplify the regular expression or narrow the path`);
    } finally {
      this.left -= Date.now() - t;
    }
    return [...this.ctx.out];
  }
}

async function* single(rel: string, abs: string, stat: Stats): AsyncGenerator<{ rel: string; abs: string; kind: 'file'; stat: Stats }> {
  yield { rel, abs, kind: 'file', stat };
}

/** A file's bytes if it is still a regular file inside the root (the walk saw it; the jail may have swapped it since). */
async function readInside(root: string, abs: string, max: number): Promise<Buffer | undefined> {
  const fh = await openFileInside(root, abs, abs).catch(() => undefined);
  if (!fh) return undefined;
  try {
    return await readCapped(fh, max);
  } finally {
    await fh.close();
  }
}

/** Up to `max` bytes of a file, or undefined if it has more (it may have grown since its stat). */
async function readCapped(fh: FileHandle, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(256 * 1024, max + 1 - total));
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, total);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > max) return undefined;
  }
}

/** A parent that vanished is NOT_FOUND; one that became a link or a file on the way is outside the rules. */
function pinError(err: unknown, rel: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new AppError('NOT_FOUND', `${rel} does not exist`);
  if (code === 'ENOTDIR' || code === 'ELOOP') return outside(rel);
  return err;
}
function notFound(err: NodeJS.ErrnoException, rel: string): never {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new AppError('NOT_FOUND', `${rel} does not exist`);
  if (err.code === 'ELOOP') throw new AppError('PATH_OUTSIDE_WORKSPACE', `${rel} is a symlink`);
  if (err.code === 'EISDIR') throw new AppError('INVALID_STATE', `${rel} is not a regular file`);
  throw err;
}

function tooLarge(rel: string, size: number, max: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `${rel} is ${size} bytes; the file API handles up to ${max}`, { details: { size, max } });
}
