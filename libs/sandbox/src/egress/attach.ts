import { spawn } from 'node:child_process';
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server } from 'node:net';
import path from 'node:path';
import { AppError } from '@codeagent/contracts';

/** Where the egress proxy and the DNS server are, as the jail sees them (its own loopback). */
export const PROXY_PORT = 3128;
export const DNS_PORT = 53;

/** The two sockets a jail's egress is served on, opened inside its network namespace. */
export interface JailListeners {
  proxy: Server;
  dns: UdpSocket;
}

/**
 * Opens the listeners inside the network namespace of `pid` (the jail's init). A short-lived helper
 * joins that namespace with nsenter, binds them and passes them back over Node's IPC channel, so the
 * proxy that serves them runs outside the jail and no process of ours stays inside it.
 */
export function openJailListeners(pid: number, timeoutMs = 10_000): Promise<JailListeners> {
  const helper = path.join(__dirname, 'netns-listen.cjs');
  const child = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, helper, String(PROXY_PORT), String(DNS_PORT)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const got: Partial<JailListeners> = {};
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        got.proxy?.close();
        got.dns?.close();
        child.kill('SIGKILL');
        reject(new AppError('SANDBOX_UNAVAILABLE', `the jail's egress could not be attached: ${err.message}${stderr ? ` (${stderr.trim()})` : ''}`));
      } else resolve(got as JailListeners);
    };
    child.on('message', (msg: unknown, handle: unknown) => {
      if (msg === 'proxy') got.proxy = handle as Server;
      else if (msg === 'dns') got.dns = handle as UdpSocket;
      else if (msg && typeof msg === 'object' && 'error' in msg) finish(new Error(String((msg as { error: unknown }).error)));
    });
    child.on('error', (err) => finish(err));
    // Served only once the helper is gone: while it lives, its copy of the listener can accept a
    // connection, which its exit then resets (a jail's request refused by a proxy that is up, or one
    // that reaches a helper after the proxy was closed). 'close', not 'exit': the IPC channel is read
    // to its end first, so no handle is still in flight.
    child.on('close', (code) => {
      if (got.proxy && got.dns) finish();
      else finish(new Error(`the helper exited with status ${code}`));
    });
  });
}
