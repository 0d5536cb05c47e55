// The gateway end to end: POST /api/v1/sessions/:id/exec latency, command output delivered to a
// Socket.IO client (MB/s), and the gateway's memory with 2,000 idle sockets. The gateway runs as its own
// process (services/gateway/src/main.ts, local mode) on a vhost of its own; the orchestrator behind it is
// a bus responder in this process (test/fake-orchestrator.ts: real messages through the real broker).
import { readFileSync } from 'node:fs';
import * as amqplib from 'amqplib';
import { BusSigner, sessionRoutingKey } from '@codeagent/bus';
import { Exchanges } from '@codeagent/contracts';
import { io, type Socket } from 'socket.io-client';
import { createTestBroker, freePort, spawnTs, TEST_BUS_SECRET, waitFor } from '@codeagent/testing';
import { msSince, percentile, report } from '../../../bench/lib';
import { FakeOrchestrator } from '../test/fake-orchestrator';

/** The gateway's own resident memory (spawnTs runs it in the spawned process itself). */
function gatewayRssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  return Number(kb) / 1024;
}
const envelope = (command: string, args: unknown[], context: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: `${command}-${Math.random().toString(36).slice(2)}`,
  type: 'command',
  timestamp: new Date().toISOString(),
  payload: { command, args, context, ...extra },
  metadata: { version: '1', client: 'bench' },
});

async function main() {
  const broker = await createTestBroker('bench-gateway');
  const orch = await FakeOrchestrator.start(broker.url);
  const port = await freePort();
  // The rate limit is raised: the benchmark sends thousands of requests a minute from one address.
  const gw = spawnTs('services/gateway/src/main.ts', { RABBITMQ_URL: broker.url, GATEWAY_PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: `/tmp/gw-bench-${process.pid}`, GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000' });
  const base = `http://127.0.0.1:${port}`;
  const sockets: Socket[] = [];
  const closeLater: Socket[] = [];
  try {
    await waitFor('gateway up', async () => (await fetch(`${base}/docs/json`).catch(() => undefined))?.ok, { timeoutMs: 30_000 });
    const sessionId = orch.addSession('local');

    // 1. exec latency: `true` answered at once by the responder (no event published), sequential requests.
    orch.session_exec = async (p: { commandId?: string }) => ({ commandId: p.commandId ?? 'c', exitCode: 0, stdout: '', stderr: '', durationMs: 0, timedOut: false, truncated: false });
    const exec = () => fetch(`${base}/api/v1/sessions/${sessionId}/exec`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"command":"true"}' }).then(async (r) => {
        const text = await r.text();
        // Only answered execs count: a refusal or error would be measured as a (fast) success otherwise.
        if (r.status !== 200) throw new Error(`exec answered ${r.status}: ${text}`);
      });
    for (let i = 0; i < 500; i++) await exec();
    const lat: number[] = [];
    for (let i = 0; i < 3_000; i++) {
      const t = process.hrtime.bigint();
      await exec();
      lat.push(msSince(t));
    }

    // 2. output throughput: 64 KiB output chunks published as session.event, received by a Socket.IO
    // client, as text (the default) and as bytes (`/subscribe` with `binary: true`).
    const chunk = 'z'.repeat(64 * 1024);
    const total = 3_200; // 200 MiB
    // Published straight onto the events exchange with amqplib (no confirms): the bus's confirmed
    // publisher is measured by libs/bus's own benchmark; this one measures the gateway's delivery.
    const conn = await amqplib.connect(broker.url);
    const ch = await conn.createChannel();
    const signer = new BusSigner(TEST_BUS_SECRET);
    const streamOnce = async (binary: boolean) => {
      const client = io(`${base}/v1`, { transports: ['websocket'], reconnection: false });
      closeLater.push(client);
      await new Promise<void>((r) => client.once('connect', () => r()));
      let bytes = 0;
      let lastSeq = 0;
      const done = new Promise<void>((resolve) =>
        client.on('message', (m: { type: string; payload: { seq: number; data: string | Buffer } }) => {
          if (m.type === 'error') console.error('socket error', m.payload);
          if (m.type !== 'stream') return;
          bytes += m.payload.data.length;
          lastSeq = m.payload.seq;
          if (lastSeq === total) resolve();
        }),
      );
      const subscribed = new Promise((r) => client.once('message', r));
      const streamSession = orch.addSession('local');
      client.emit('message', envelope('/subscribe', [], { sessionId: streamSession }, binary ? { binary: true } : {}));
      await subscribed;
      const t0 = process.hrtime.bigint();
      // At most 64 chunks (4 MiB) ahead of the client: the publisher shares this process with the client,
      // and an unpaced publisher would starve it until the gateway dropped it as a slow consumer.
      for (let seq = 1; seq <= total; seq++) {
        while (seq - lastSeq > 64) await new Promise((r) => setImmediate(r));
        const env = { id: `ev-${binary}-${seq}`, type: 'event', timestamp: new Date().toISOString(), metadata: { version: '1', client: 'bench' }, payload: { sessionId: streamSession, seq, kind: 'output', data: { stream: 'stdout', data: chunk }, at: new Date().toISOString() } };
        const body = Buffer.from(JSON.stringify(env));
        // Signed as a platform service signs it (libs/bus): the gateway refuses anything else.
        const headers = signer.headers('orchestrator', { messageId: env.id, type: 'session.event' }, body);
        // Routed by session, as libs/bus routes the catalog's per-session events (the gateway binds the sessions it follows).
        if (!ch.publish(Exchanges.events, sessionRoutingKey('session.event', streamSession), body, { contentType: 'application/json', messageId: env.id, type: 'session.event', headers })) {
          await new Promise((r) => ch.once('drain', r));
        }
      }
      await done;
      client.close();
      return bytes / 2 ** 20 / (msSince(t0) / 1000);
    };
    const mbps = await streamOnce(false);
    const binaryMbps = await streamOnce(true);

    // For reference: the same chunks through the broker alone (publish → a queue → an amqplib consumer
    // acking each, prefetch 64, same pacing), i.e. the ceiling this machine's broker sets right now.
    const rc = await conn.createChannel();
    const { queue } = await rc.assertQueue('', { exclusive: true, autoDelete: true });
    await rc.prefetch(64);
    let got = 0;
    const allIn = new Promise<void>((resolve) =>
      rc.consume(queue, (m) => {
        if (!m) return;
        JSON.parse(m.content.toString());
        rc.ack(m);
        if (++got === total) resolve();
      }),
    );
    const tb = process.hrtime.bigint();
    for (let seq = 1; seq <= total; seq++) {
      while (seq - got > 64) await new Promise((r) => setImmediate(r));
      const env = { id: `ref-${seq}`, payload: { seq, data: chunk } };
      if (!ch.publish('', queue, Buffer.from(JSON.stringify(env)))) await new Promise((r) => ch.once('drain', r));
    }
    await allIn;
    const brokerMbps = (total * chunk.length) / 2 ** 20 / (msSince(tb) / 1000);
    await conn.close();
    console.log(`exec p50 ${percentile(lat, 50).toFixed(3)} ms, p99 ${percentile(lat, 99).toFixed(3)} ms; output ${mbps.toFixed(1)} MiB/s, binary ${binaryMbps.toFixed(1)} MiB/s (broker alone ${brokerMbps.toFixed(1)} MiB/s)`);

    // 3. idle sockets: the gateway's resident memory before and after 2,000 connections.
    await new Promise((r) => setTimeout(r, 1_000));
    const before = gatewayRssMb(gw.child.pid!);
    sockets.length = 0;
    for (let i = 0; i < 2_000; i++) {
      const s = io(`${base}/v1`, { transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(s);
      if (i % 100 === 99) await waitFor('connected', () => sockets.every((x) => x.connected), { timeoutMs: 30_000 });
    }
    await waitFor('2,000 connected', () => sockets.slice(-2_000).every((x) => x.connected), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 2_000));
    const after = gatewayRssMb(gw.child.pid!);

    report(
      'gateway',
      [
        { name: 'exec p50 (HTTP → gateway → bus → responder → back)', value: percentile(lat, 50), unit: 'ms', goal: '<= 2' },
        { name: 'exec p99', value: percentile(lat, 99), unit: 'ms', goal: '<= 10' },
        { name: 'output to a Socket.IO client (64 KiB chunks, live)', value: mbps, unit: 'MiB/s', goal: '>= 100' },
        { name: 'output to a Socket.IO client as bytes (/subscribe binary: true)', value: binaryMbps, unit: 'MiB/s', goal: '>= 100' },
        { name: 'reference: the same chunks through the broker alone, no gateway', value: brokerMbps, unit: 'MiB/s' },
        { name: 'gateway RSS, idle', value: before, unit: 'MiB' },
        { name: 'gateway RSS with 2,000 idle sockets', value: after, unit: 'MiB' },
        { name: 'memory per idle socket', value: ((after - before) * 1024) / 2_000, unit: 'KiB' },
      ],
      'Gateway in its own process (local mode); the orchestrator behind it is a bus responder in the benchmark process (real RabbitMQ, own vhost). Output is published by that responder as session.event, so publisher, client and broker share this 2-core machine with the gateway.',
    );
  } finally {
    for (const s of [...sockets, ...closeLater]) s.close();
    await gw.stop();
    await orch.close();
    await broker.dispose();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
