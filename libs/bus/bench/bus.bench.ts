// The bus: request/reply latency between two connections, and confirmed publish throughput.
import * as amqplib from 'amqplib';
import { createTestBroker, testLogger } from '@codeagent/testing';
import { Bus, BusSigner } from '../src';
import { TestCatalog } from '../test/catalog';
import { msSince, percentile, report } from '../../../bench/lib';

type AnyBus = { request(n: string, p: unknown): Promise<unknown>; publish(n: string, p: unknown): Promise<void> };

async function main() {
  const broker = await createTestBroker('bench-bus');
  const connect = (service: string) =>
    Bus.connect({ url: broker.url, service, instanceId: `${service}-bench`, logger: testLogger(), catalog: TestCatalog, prefetch: 256 });
  const server = await connect('analytics');
  const client = await connect('gateway');
  try {
    await server.handleCommands('analytics', {
      'analytics.echo': async (p: { text: string }) => ({ text: p.text, by: 'bench' }),
      'analytics.fail': async () => ({}),
    } as never);
    const c = client as unknown as AnyBus;
    for (let i = 0; i < 500; i++) await c.request('analytics.echo', { text: 'warm' });
    const latencies: number[] = [];
    const n = 5_000;
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      await c.request('analytics.echo', { text: 'x' });
      latencies.push(msSince(t));
    }

    let received = 0;
    await server.subscribe('bench', { 'test.happened': async () => void received++ } as never);
    const total = 50_000;
    const window = 2_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < total; i += window) {
      await Promise.all(Array.from({ length: Math.min(window, total - i) }, (_, k) => c.publish('test.happened', { n: i + k })));
    }
    const publishSeconds = msSince(t0) / 1000;
    while (received < total && msSince(t0) < 120_000) await new Promise((r) => setTimeout(r, 20));
    const endToEndSeconds = msSince(t0) / 1000;

    // The same load straight through amqplib, measured in the same run: what the broker itself allows.
    const raw = await amqplib.connect(broker.url, { noDelay: true } as never);
    const ch = await raw.createConfirmChannel();
    await ch.assertQueue('bench.raw', { durable: true, arguments: { 'x-queue-version': 2 } });
    const body = Buffer.from(JSON.stringify({ id: 'x', type: 'event', timestamp: new Date().toISOString(), payload: { n: 1 }, metadata: { version: '1' } }));
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < total; i += window) {
      await Promise.all(
        Array.from({ length: Math.min(window, total - i) }, () => new Promise<void>((res, rej) => ch.sendToQueue('bench.raw', body, { persistent: true }, (err) => (err ? rej(err) : res())))),
      );
    }
    const rawSeconds = msSince(t1) / 1000;
    await raw.close();

    // What authenticating costs per message on its own: the publisher's HMAC and the consumer's check.
    // CPU time, not wall time: on a shared machine the wall clock mostly measures the neighbours.
    const signer = new BusSigner('bench-secret-'.padEnd(64, 'x'));
    const props = { messageId: 'x', type: 'test.happened' };
    const signs = 200_000;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < signs; i++) if (!signer.verify(signer.headers('gateway', props, body), props, body).ok) throw new Error('verify failed');
    const cpu = process.cpuUsage(cpu0);
    const signVerifyUs = (cpu.user + cpu.system) / signs;

    report('bus', [
      { name: 'request/reply p50', value: percentile(latencies, 50), unit: 'ms', goal: '<= 1' },
      { name: 'request/reply p99', value: percentile(latencies, 99), unit: 'ms' },
      { name: 'confirmed publishes', value: total / publishSeconds, unit: 'msg/s', goal: '>= 15000' },
      { name: 'published and consumed', value: received / endToEndSeconds, unit: 'msg/s' },
      { name: 'raw amqplib confirmed publishes (same broker, same run)', value: total / rawSeconds, unit: 'msg/s' },
      { name: 'sign + verify one message (CPU time)', value: signVerifyUs, unit: 'µs' },
    ], `${n} sequential requests; ${total} persistent publishes, ${window} in flight, each awaited for its confirm; sign + verify over a ${body.length}-byte envelope`);
  } finally {
    await client.close(1_000);
    await server.close(1_000);
    await broker.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
