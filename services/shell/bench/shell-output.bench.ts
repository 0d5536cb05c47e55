// Shell service benchmarks: output streamed through the bus (bytes per second from the command in
// the jail to a subscriber of session.event (output), and how many events that takes), and the round trip of a
// `true` sent as shell.exec. `npm run bench -- shell-output`; BENCH_SHELL_MB sets the output size.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, sessionLogHandlers } from '@codeagent/bus';
import { BubblewrapDriver } from '@codeagent/sandbox';
import { runService } from '@codeagent/service';
import { createTestBroker, TEST_BUS_SECRET, testLogger } from '@codeagent/testing';
import { msSince, percentile, report, type Figure } from '../../../bench/lib';
import { loadServiceEnv } from '../src/env';
import { shellService } from '../src/service';

async function main(): Promise<void> {
  const mb = Number(process.env.BENCH_SHELL_MB ?? 200);
  const broker = await createTestBroker('shellbench');
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-bench-'));
  const instanceId = `shell-bench-${process.pid}`;
  const env = loadServiceEnv({ RABBITMQ_URL: broker.url, CODEAGENT_BUS_SECRET: TEST_BUS_SECRET, INSTANCE_ID: instanceId, SHELL_PORT: '0', SHELL_DOCKER_ENABLED: 'false', LOG_LEVEL: 'warn', DATA_DIR: workspace, SHELL_OUTPUT_CHUNK_BYTES: process.env.SHELL_OUTPUT_CHUNK_BYTES });
  const service = await runService({ ...shellService(env, { bubblewrap: new BubblewrapDriver() }), opsPort: 0 }, { exitOnSignal: false });
  const client = await Bus.connect({ url: broker.url, service: 'shell-bench', instanceId: 'client', logger: testLogger() });
  let bytes = 0;
  let events = 0;
  let lastAt = process.hrtime.bigint();
  await client.subscribe(
    'shell-bench',
    sessionLogHandlers(async (p) => {
      if (p.kind !== 'output') return;
      bytes += p.data.encoding === 'base64' ? Buffer.byteLength(p.data.data, 'base64') : Buffer.byteLength(p.data.data);
      events += 1;
      lastAt = process.hrtime.bigint();
    }),
    { durable: false },
  );
  try {
    await client.request('shell.open', { sessionId: 'b', workspaceDir: workspace, network: 'none', limits: {}, env: {}, driver: 'bubblewrap' }, { timeoutMs: 30_000 });
    const exec = (command: string) => client.request('shell.exec', { sessionId: 'b', command }, { instanceId, timeoutMs: 600_000 });

    const rtt: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = process.hrtime.bigint();
      await exec('true');
      rtt.push(msSince(t));
    }

    const total = mb * 1024 * 1024;
    const t0 = process.hrtime.bigint();
    const r = await exec(`head -c ${total} /dev/zero | tr '\\0' 'a'`);
    const replyMs = msSince(t0);
    const deadline = Date.now() + 120_000;
    while (bytes < total && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const streamMs = Number(lastAt - t0) / 1e6;
    if (bytes !== total || r.exitCode !== 0) throw new Error(`got ${bytes} of ${total} bytes, exit ${r.exitCode}`);

    // The ceiling: the same bus publishing chunks of the same size one confirm at a time, no jail.
    const chunk = 'a'.repeat(env.SHELL_OUTPUT_CHUNK_BYTES);
    const n = Math.ceil((50 * 2 ** 20) / chunk.length);
    const tb = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await client.publish('session.event', { sessionId: 'bus-only', seq: i + 1, kind: 'output', data: { stream: 'stdout', data: chunk }, at: new Date().toISOString() });
    const busOnly = (n * chunk.length) / 2 ** 20 / (msSince(tb) / 1000);

    const figures: Figure[] = [
      { name: 'bus alone: sequential confirmed publishes of one chunk size', value: busOnly, unit: 'MB/s' },
      { name: 'output through the bus to a subscriber', value: total / 2 ** 20 / (streamMs / 1000), unit: 'MB/s', goal: '>= 100' },
      { name: `output events for ${mb} MB`, value: events, unit: 'events', goal: `<= ${mb * 10}` },
      { name: 'exec reply (all output confirmed) after', value: replyMs, unit: 'ms' },
      { name: 'shell.exec `true` round trip p50', value: percentile(rtt, 50), unit: 'ms', goal: '<= 20' },
      { name: 'shell.exec `true` round trip p95', value: percentile(rtt, 95), unit: 'ms', goal: '<= 50' },
    ];
    report('shell-output', figures, `${mb} MB of output from one command; events are coalesced up to SHELL_OUTPUT_CHUNK_BYTES (${env.SHELL_OUTPUT_CHUNK_BYTES}) while the broker confirms the previous one.`);
  } finally {
    await client.close();
    await service.stop();
    await broker.dispose();
    rmSync(workspace, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
