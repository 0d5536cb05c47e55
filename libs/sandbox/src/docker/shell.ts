import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { ShellChannel } from '../shell/channel';
import { demux } from './demux';
import { ended } from './exec';

/** bash where the image has it (its eval survives syntax errors), else the image's sh. */
const SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc; else exec sh; fi';

/**
 * One persistent shell in the container: a `docker exec` with stdin attached, driven by the same
 * ShellChannel protocol as the bubblewrap driver. When it dies the container (and its files) stay;
 * the sandbox starts another one.
 */
export class ContainerShell {
  /** The shell's pid inside the container. */
  shellPid = 0;
  readonly exited: Promise<number>;

  private constructor(
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
    readonly channel: ShellChannel,
    stdoutEnd: Promise<void>,
  ) {
    this.exited = stdoutEnd.then(async () => {
      const info = await exec.inspect().catch(() => undefined);
      return info?.ExitCode ?? 137;
    });
  }

  static async start(container: Docker.Container, opts: { env: string[]; user?: string; onTimeout: () => void }): Promise<ContainerShell> {
    const exec = await container.exec({
      Cmd: ['/bin/sh', '-c', SHELL],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: opts.env,
      WorkingDir: '/workspace',
      ...(opts.user ? { User: opts.user } : {}),
    });
    const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
    const { stdout, stderr } = demux(stream);
    const shell = new ContainerShell(exec, stream, new ShellChannel({ stdin: stream, stdout, stderr }, opts.onTimeout), ended(stdout));
    const ready = await Promise.race([
      shell.channel.exec('echo $$'),
      shell.exited.then((code) => ({ exitCode: code, stdout: '', stderr: 'the shell ended before answering' })),
    ]);
    const pid = Number(ready.stdout.trim());
    if (ready.exitCode !== 0 || !Number.isInteger(pid) || pid <= 0) {
      shell.kill();
      throw new Error(`the container's shell did not start: ${ready.stderr.trim() || `exit status ${ready.exitCode}`}`);
    }
    shell.shellPid = pid;
    return shell;
  }

  /** Drops the connection; the shell gets EOF on stdin and ends (the sandbox kills what is left). */
  kill(): void {
    this.stream.destroy();
  }
}
