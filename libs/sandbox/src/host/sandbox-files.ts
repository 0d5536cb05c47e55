import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { AppError } from '@codeagent/contracts';

// Files in the folders a sandbox shares with the host (a jail's /run/codeagent, a container's pipes):
// code in the sandbox can replace them with anything, and this process, which serves every sandbox of
// the host, opens them. So a link is never followed (it could name any file of the host) and a FIFO
// never waited on (an open for reading waits for a writer: every sandbox here would wait with it).

/** At most `max` bytes of such a file, as text; undefined unless it is a regular file. */
export function readSandboxFile(file: string, max: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, max));
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, n);
    return buf.toString('utf8', 0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A descriptor of such a FIFO (non-blocking); throws when something else is there. */
export function openSandboxPipe(file: string, flags: number): number {
  const replaced = () => new AppError('SANDBOX_UNAVAILABLE', `${file} is not the sandbox's pipe any more: something in the sandbox replaced it`);
  let fd: number;
  try {
    fd = openSync(file, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw replaced();
    throw err;
  }
  if (fstatSync(fd).isFIFO()) return fd;
  closeSync(fd);
  throw replaced();
}
