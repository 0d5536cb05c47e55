import type Docker from 'dockerode';
import type { Duplex, Readable } from 'node:stream';
import { demux } from './demux';

/** Runs a helper command in the container (as root, outside the shell) and collects what it prints. */
export async function runInContainer(container: Docker.Container, cmd: string[], timeoutMs = 10_000): Promise<{ stdout: string; exitCode: number }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, User: '0' });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  const { stdout, stderr } = demux(stream);
  stderr.resume();
  const chunks: Buffer[] = [];
  stdout.on('data', (b: Buffer) => chunks.push(b));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      stream.destroy();
      reject(new Error(`${cmd[0]} did not finish within ${timeoutMs} ms in the container`));
    }, timeoutMs);
    stdout.once('end', () => (clearTimeout(t), resolve()));
  });
  const info = await exec.inspect();
  return { stdout: Buffer.concat(chunks).toString('utf8'), exitCode: info.ExitCode ?? -1 };
}

/** Waits for a stream to end or close, whichever comes first. */
export function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}

interface ProcInfo {
  pid: number;
  ppid: number;
  startTicks: number;
}

/**
 * The processes of the command the shell is running: descendants of the shell's children that started
 * after `sinceSeconds` (seconds since boot). Earlier children are background jobs of earlier commands
 * and are spared, as in the bubblewrap driver. Read from the container's /proc in one helper exec.
 */
export async function commandProcesses(container: Docker.Container, shellPid: number, commandAgeSeconds: () => number): Promise<number[]> {
  const { stdout } = await runInContainer(container, ['/bin/sh', '-c', 'cat /proc/uptime /proc/[0-9]*/stat 2>/dev/null']);
  // Measured after the helper returned, so the cut-off errs toward including the command's processes.
  const age = commandAgeSeconds() + 0.05;
  const [first, ...lines] = stdout.split('\n');
  const uptime = Number(first?.split(' ')[0]);
  if (!Number.isFinite(uptime)) return [];
  const since = (uptime - age) * CLOCK_TICKS;
  const procs: ProcInfo[] = [];
  for (const line of lines) {
    const close = line.lastIndexOf(')');
    if (close < 0) continue;
    const pid = Number(line.slice(0, line.indexOf(' ')));
    const f = line.slice(close + 2).split(' ');
    // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice threads itrealvalue starttime → starttime is index 19.
    procs.push({ pid, ppid: Number(f[1]), startTicks: Number(f[19]) });
  }
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c.pid);
      walk(c.pid);
    }
  };
  for (const c of children.get(shellPid) ?? []) {
    if (c.startTicks < since) continue;
    out.push(c.pid);
    walk(c.pid);
  }
  return out;
}

const CLOCK_TICKS = 100;
