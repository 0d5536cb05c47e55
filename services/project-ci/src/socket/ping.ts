import { connect } from 'node:net';
import { LineSplitter } from './line-splitter';

/**
 * Asks a CI socket whether it answers: connects, sends `{"ping": true}`, waits for `{"pong": true}`.
 * Resolves with the round trip in milliseconds; rejects on refusal, a wrong answer or the timeout.
 */
export function pingCi(host: string, port: number, timeoutMs: number): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const splitter = new LineSplitter(64 * 1024);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    };
    const timer = setTimeout(() => done(new Error(`no pong from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('connect', () => socket.write('{"ping":true}\n'));
    socket.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk)) {
        if (f.kind !== 'line') continue;
        try {
          const v = JSON.parse(f.line) as { pong?: unknown; error?: { code?: unknown } };
          // A CI at its client limit answers that instead of the pong: busy is alive, not a reason to restart it.
          const alive = v.pong === true || v.error?.code === 'LIMIT_REACHED';
          done(alive ? undefined : new Error(`unexpected answer to ping: ${f.line.slice(0, 200)}`));
        } catch {
          done(new Error(`unexpected answer to ping: ${f.line.slice(0, 200)}`));
        }
        return;
      }
    });
    socket.on('close', () => done(new Error(`${host}:${port} closed the connection without a pong`)));
  });
}
