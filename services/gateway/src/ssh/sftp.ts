import { constants as fsc, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { utils, type Attributes, type FileEntry, type SFTPWrapper } from 'ssh2';

const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/** How the workspace is shown to sftp clients: the jail's own path for it. */
export const SFTP_ROOT = '/workspace';

class Refused extends Error {}

/**
 * The sftp subsystem on a session's workspace folder (on this host). Clients see it as /workspace
 * (relative paths start there); any path that leads outside it, by `..` or through a symlink, is
 * PERMISSION_DENIED and reported to `onRefused`. The folder is looked up while the client already
 * talks (its first packets must find the subsystem there); requests wait for it.
 */
export function serveSftp(sftp: SFTPWrapper, rootOf: Promise<string>, onRefused: (op: string, p: string) => void): void {
  const files = new Map<string, FileHandle>();
  const dirs = new Map<string, { entries: string[] | undefined; dir: string }>();
  let next = 0;
  const newHandle = () => Buffer.from(String(next++));

  /** The host path for a client path, refusing anything outside the workspace (after following symlinks). */
  const resolve = async (p: string, op: string, mustExist = true): Promise<string> => {
    const root = await rootOf;
    const virtual = path.posix.resolve(SFTP_ROOT, p || '.');
    if (virtual !== SFTP_ROOT && !virtual.startsWith(`${SFTP_ROOT}/`)) {
      onRefused(op, p);
      throw new Refused(`${p} is outside ${SFTP_ROOT}`);
    }
    const host = path.join(root, path.posix.relative(SFTP_ROOT, virtual));
    // The real location of the path (or of its folder, for a file to be made) must still be inside.
    const real = await realpath(host).catch(async (err: NodeJS.ErrnoException) => {
      if (mustExist || err.code !== 'ENOENT') throw err;
      return path.join(await realpath(path.dirname(host)), path.basename(host));
    });
    const realRoot = await realpath(root);
    if (real !== realRoot && !real.startsWith(`${realRoot}${path.sep}`)) {
      onRefused(op, p);
      throw new Refused(`${p} leads outside ${SFTP_ROOT}`);
    }
    return real;
  };
  const virtualOf = (hostPath: string, realRoot: string) => path.posix.join(SFTP_ROOT, path.relative(realRoot, hostPath).split(path.sep).join('/'));

  const fail = (reqId: number, err: unknown) => {
    if (err instanceof Refused) return sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'no such file');
    if (code === 'EACCES' || code === 'EPERM') return sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, 'permission denied');
    return sftp.status(reqId, STATUS_CODE.FAILURE, (err as Error).message);
  };
  const run = (reqId: number, fn: () => Promise<void>) => void fn().catch((err: unknown) => fail(reqId, err));

  sftp.on('REALPATH', (reqId, p) =>
    run(reqId, async () => {
      const host = await resolve(p, 'realpath', false);
      const name = virtualOf(host, await realpath(await rootOf));
      sftp.name(reqId, [{ filename: name, longname: name, attrs: {} as Attributes }]);
    }),
  );
  for (const op of ['STAT', 'LSTAT'] as const) {
    sftp.on(op, (reqId: number, p: string) =>
      run(reqId, async () => {
        const host = await resolve(p, op.toLowerCase());
        sftp.attrs(reqId, attrsOf(op === 'STAT' ? await stat(host) : await lstat(host)));
      }),
    );
  }
  sftp.on('OPEN', (reqId, p, flags) =>
    run(reqId, async () => {
      const host = await resolve(p, 'open', !(flags & OPEN_MODE.CREAT));
      const fh = await open(host, openFlags(flags), 0o644);
      const h = newHandle();
      files.set(h.toString(), fh);
      sftp.handle(reqId, h);
    }),
  );
  sftp.on('READ', (reqId, handle, offset, len) =>
    run(reqId, async () => {
      const fh = files.get(handle.toString());
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'unknown handle');
      const buf = Buffer.alloc(Math.min(len, 256 * 1024));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) return void sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, buf.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (reqId, handle, offset, data) =>
    run(reqId, async () => {
      const fh = files.get(handle.toString());
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'unknown handle');
      await fh.write(data, 0, data.length, offset);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSTAT', (reqId, handle) =>
    run(reqId, async () => {
      const fh = files.get(handle.toString());
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'unknown handle');
      sftp.attrs(reqId, attrsOf(await fh.stat()));
    }),
  );
  sftp.on('CLOSE', (reqId, handle) =>
    run(reqId, async () => {
      const k = handle.toString();
      const fh = files.get(k);
      files.delete(k);
      dirs.delete(k);
      await fh?.close();
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('OPENDIR', (reqId, p) =>
    run(reqId, async () => {
      const host = await resolve(p, 'opendir');
      if (!(await stat(host)).isDirectory()) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'not a folder');
      const h = newHandle();
      dirs.set(h.toString(), { entries: await readdir(host), dir: host });
      sftp.handle(reqId, h);
    }),
  );
  sftp.on('READDIR', (reqId, handle) =>
    run(reqId, async () => {
      const d = dirs.get(handle.toString());
      if (!d) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'unknown handle');
      if (!d.entries) return void sftp.status(reqId, STATUS_CODE.EOF);
      const names: FileEntry[] = [];
      for (const n of d.entries) {
        const st = await lstat(path.join(d.dir, n)).catch(() => undefined);
        if (st) names.push({ filename: n, longname: `${st.isDirectory() ? 'd' : '-'}rw-r--r-- 1 user user ${st.size} ${n}`, attrs: attrsOf(st) });
      }
      d.entries = undefined;
      sftp.name(reqId, names);
    }),
  );
  sftp.on('MKDIR', (reqId, p) => run(reqId, async () => (await mkdir(await resolve(p, 'mkdir', false)), sftp.status(reqId, STATUS_CODE.OK))));
  sftp.on('REMOVE', (reqId, p) => run(reqId, async () => (await rm(await resolve(p, 'remove')), sftp.status(reqId, STATUS_CODE.OK))));
  sftp.on('RMDIR', (reqId, p) => run(reqId, async () => (await rmdir(await resolve(p, 'rmdir')), sftp.status(reqId, STATUS_CODE.OK))));
  sftp.on('RENAME', (reqId, from, to) => run(reqId, async () => (await rename(await resolve(from, 'rename'), await resolve(to, 'rename', false)), sftp.status(reqId, STATUS_CODE.OK))));
  // Modes and times are the jail's business; accepted so clients that set them after a put carry on.
  sftp.on('SETSTAT', (reqId, p) => run(reqId, async () => (await resolve(p, 'setstat'), sftp.status(reqId, STATUS_CODE.OK))));
  sftp.on('FSETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
  // Links could point out of the workspace: not offered.
  sftp.on('SYMLINK', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED, 'symlinks are not served'));
  sftp.on('READLINK', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED, 'symlinks are not served'));
  // The client is done (its EOF): close our side too, or it waits for us, with the exit status an
  // sftp-server would give (scp, which speaks sftp since OpenSSH 9, fails a copy without one).
  sftp.on('end', () => endSftp(sftp, 0));
  sftp.on('close', () => {
    for (const fh of files.values()) void fh.close().catch(() => undefined);
    files.clear();
  });
}

function openFlags(f: number): number {
  let flags = f & OPEN_MODE.WRITE ? (f & OPEN_MODE.READ ? fsc.O_RDWR : fsc.O_WRONLY) : fsc.O_RDONLY;
  if (f & OPEN_MODE.APPEND) flags |= fsc.O_APPEND;
  if (f & OPEN_MODE.CREAT) flags |= fsc.O_CREAT;
  if (f & OPEN_MODE.TRUNC) flags |= fsc.O_TRUNC;
  if (f & OPEN_MODE.EXCL) flags |= fsc.O_EXCL;
  // The final component is never followed: a symlink planted in the workspace cannot redirect a write.
  return flags | fsc.O_NOFOLLOW;
}

function attrsOf(st: Stats): Attributes {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

/**
 * Ends the subsystem's channel with an exit status, as sshd does when its sftp-server exits: ssh2's
 * SFTP object has no exit() of its own, so the status goes through the channel it wraps.
 */
export function endSftp(sftp: SFTPWrapper, code: number): void {
  const channel = sftp as unknown as { _protocol?: { exitStatus?(id: number, status: number): void }; outgoing?: { id: number; state: string } };
  if (channel.outgoing?.state === 'open' || channel.outgoing?.state === 'eof') channel._protocol?.exitStatus?.(channel.outgoing.id, code);
  sftp.end();
}
