import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { feedListeners } from '../pty-data';
import type { Pty, PtyDataListener } from '../types';
import { ended, runInContainer } from './exec';

const SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -i; else exec sh -i; fi';

/**
 * A terminal in the container: `docker exec` with a TTY. Its processes carry a marker in their
 * environment so close() can find and end them from inside (the engine may be on another host, so
 * host pids are not ours to signal).
 */
export async function openContainerPty(container: Docker.Container, opts: { env: string[]; user?: string; cols?: number; rows?: number }): Promise<Pty> {
  const mark = `CODEAGENT_PTY=${randomBytes(8).toString('hex')}`;
  const exec = await container.exec({
    Cmd: ['/bin/sh', '-c', SHELL],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    Env: [...opts.env, 'TERM=xterm-256color', mark],
    WorkingDir: '/workspace',
    ...(opts.user ? { User: opts.user } : {}),
  });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
  const cols = opts.cols ?? 80;
  const rows = opts.rows ?? 24;
  await exec.resize({ h: rows, w: cols }).catch(() => undefined);
  const info = await exec.inspect().catch(() => undefined);
  const dataListeners = new Set<PtyDataListener>();
  feedListeners(stream, dataListeners);
  stream.on('error', () => undefined);
  const exit = ended(stream).then(async () => (await exec.inspect().catch(() => undefined))?.ExitCode ?? 0);
  const signalAll = (sig: string) =>
    runInContainer(container, ['/bin/sh', '-c', `for f in /proc/[0-9]*/environ; do if tr '\\0' '\\n' < "$f" 2>/dev/null | grep -q -x '${mark}'; then p=\${f#/proc/}; kill -${sig} \${p%/environ} 2>/dev/null; fi; done; true`]).catch(
      () => undefined,
    );
  let closing: Promise<void> | undefined;
  return {
    pid: info?.Pid ?? 0,
    write: (d) => void stream.write(d),
    resize: (c, r) => void exec.resize({ h: r, w: c }).catch(() => undefined),
    onData: (cb) => {
      dataListeners.add(cb);
      return () => dataListeners.delete(cb);
    },
    onExit: (cb) => void exit.then(cb),
    close: () =>
      (closing ??= (async () => {
        // As from a closed terminal: SIGHUP, then SIGKILL for what ignores it.
        await signalAll('HUP');
        const gone = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
        if (!gone) await signalAll('KILL');
        stream.destroy();
      })()),
  };
}
