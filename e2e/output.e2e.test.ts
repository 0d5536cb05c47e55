import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startStack, waitFor, type Stack } from '@codeagent/testing';
import { ok, openSession, SocketClient, type ServerMessage } from './bench/client';

// A command's output from the jail to a Socket.IO client through the real stack (six services as
// processes, real broker, real jail, real database): the shell numbers and publishes every chunk, the
// gateway delivers it live, the orchestrator stores it behind. 200 MB reach the client byte-exact,
// each seq once and in order, while the gateway's memory stays bounded; the /exec response carries
// the result, not another copy of the output.

jest.setTimeout(600_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'e2e-output', env: { GATEWAY_RATE_LIMIT_PER_MINUTE: '100000' } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** Resident memory of a process in MiB (Linux). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/** The bytes `seq 1 n` prints, hashed without holding them. */
function seqDigest(n: number): { sha256: string; bytes: number } {
  const h = createHash('sha256');
  let bytes = 0;
  const step = 10_000;
  for (let from = 1; from <= n; from += step) {
    let s = '';
    for (let i = from; i < Math.min(from + step, n + 1); i++) s += `${i}\n`;
    h.update(s);
    bytes += s.length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/**
 * `seq` printing 200 MB in a fresh session, to a client that /subscribes then /execs it; a client that
 * spends `readDelayMs` on each message reads slower than the jail writes, and is served from the log.
 */
async function twoHundredMegabytes(readDelayMs: number): Promise<void> {
  const session = await openSession(stack.url);
  const sessionId = session.id as string;
  // `seq` lines: a lost, doubled or reordered chunk changes the digest (and usually the length).
  const LINES = 24_600_000;
  const expected = seqDigest(LINES);
  expect(expected.bytes).toBeGreaterThan(200 * 2 ** 20);

  const c = new SocketClient(stack.url, { reconnection: false });
  const hash = createHash('sha256');
  let bytes = 0;
  const seqs: number[] = [];
  let outOfOrder = 0;
  let completed: ServerMessage | undefined;
  c.onMessage((m) => {
    if ((m.type !== 'stream' && m.type !== 'status') || m.payload.sessionId !== sessionId) return;
    const seq = m.payload.seq as number;
    if (seqs.length && seq !== seqs[seqs.length - 1]! + 1) outOfOrder += 1;
    seqs.push(seq);
    if (m.type === 'status' && m.payload.kind === 'command.completed') completed = m;
    if (m.type !== 'stream') return;
    const d = m.payload.data as Buffer | string;
    const buf = Buffer.isBuffer(d) ? d : Buffer.from(d, m.payload.encoding === 'base64' ? 'base64' : 'utf8');
    hash.update(buf);
    bytes += buf.length;
    // A slow reader: this process (and so its socket) does nothing else meanwhile.
    for (const until = Date.now() + readDelayMs; Date.now() < until; );
  });
  await c.connected();
  await c.command('/subscribe', [], { sessionId }, { binary: true });

  const gatewayPid = Number(/"pid":(\d+)/.exec(stack.procs.get('gateway')!.output())?.[1]);
  const rssBefore = rssMb(gatewayPid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(gatewayPid))), 100);
  try {
    const t0 = Date.now();
    const reply = await c.command('/exec', [`seq 1 ${LINES}`], { sessionId }, { timeoutMs: 540_000 });
    expect(reply.payload).toMatchObject({ exitCode: 0, timedOut: false });
    expect(reply.payload).not.toHaveProperty('stdout');
    expect(reply.payload).not.toHaveProperty('stderr');
    await waitFor('the command.completed event', () => completed, { timeoutMs: 120_000, intervalMs: 50 });
    const seconds = (Date.now() - t0) / 1000;
    console.log(`200 MB e2e (${readDelayMs} ms a message): ${(bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(1)} s (${(bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s), ${seqs.length} events, gateway RSS ${rssBefore.toFixed(0)} -> peak ${rssPeak.toFixed(0)} MiB`);
  } finally {
    clearInterval(sampler);
    c.close();
  }
  expect({ bytes, sha256: hash.digest('hex') }).toEqual(expected);
  expect(outOfOrder).toBe(0);
  expect(new Set(seqs).size).toBe(seqs.length);
  // Bounded: the gateway passes chunks on as they come; what a slow reader has not taken is read
  // again from the log in pages of about 1 MiB, never buffered without end.
  expect(rssPeak - rssBefore).toBeLessThan(200);

  // The stored log catches up behind the live stream: the same events, gapless, from the database.
  const lastSeq = seqs[seqs.length - 1]!;
  await waitFor('the log stored up to the last seq', async () => {
    const page = await ok(stack.url, 'GET', `/api/v1/sessions/${sessionId}/events?since=${lastSeq - 1}`);
    return (page.events as Array<{ seq: number }>).some((e) => e.seq === lastSeq);
  }, { timeoutMs: 180_000, intervalMs: 500 });
  await ok(stack.url, 'DELETE', `/api/v1/sessions/${sessionId}`);
}

test('/subscribe then /exec of 200 MB: every byte once, in order, byte-exact; the response carries no output; the gateway stays bounded', async () => {
  await twoHundredMegabytes(0);
});

// Served from the log, in pages: the gateway's RSS rose ~490 MiB here with pages of 500 events of
// ~180 KiB each, 120–160 MiB with pages cut at 4 MiB, ~60 MiB at 1 MiB (the default).
test('the same to a client reading at ~6 MB/s: every byte once and in order, the gateway stays bounded', async () => {
  await twoHundredMegabytes(20);
});
