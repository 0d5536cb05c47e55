// The CI socket's own cost (the model is an instant in-process fake, so what is measured is framing,
// the conversation bookkeeping and TCP on loopback): round-trip latency, throughput with many
// clients at once, a 200 KB answer, and a health round over many CIs.
import { freePortBlock, testLogger } from '@codeagent/testing';
import { msSince, percentile, report } from '../../../bench/lib';
import { Conversation } from '../src/conversation/conversation';
import { ProjectCiRegistry } from '../src/registry/registry';
import { MemoryStore, RecordingModel } from '../test/fakes';
import { NdjsonClient } from '../test/ndjson-client';

async function main() {
  const base = await freePortBlock(100);
  const store = new MemoryStore();
  const model = new RecordingModel(() => 'ok');
  const registry = new ProjectCiRegistry({
    host: '127.0.0.1',
    portBase: base,
    maxLineBytes: 2 * 1024 * 1024,
    maxClients: 100,
    closeGraceMs: 1000,
    maxMissedPings: 3,
    pingTimeoutMs: 2000,
    repository: store,
    conversation: new Conversation({ history: store, model, keepMessages: 40, contextChars: 32_000 }),
    log: testLogger(),
  });
  const clients: NdjsonClient[] = [];
  try {
    const CIS = 50;
    for (let i = 0; i < CIS; i++) await registry.ensure({ projectId: `p${i}`, name: `Project ${i}`, index: i });
    // The request list is kept by the fake; do not let it grow without bound during the run.
    model.requests.length = 0;

    const one = await NdjsonClient.open(base);
    clients.push(one);
    for (let i = 0; i < 200; i++) await one.ask({ content: 'warm' });
    const latencies: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = process.hrtime.bigint();
      await one.ask({ content: `message ${i}` });
      latencies.push(msSince(t));
    }
    model.requests.length = 0;

    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => NdjsonClient.open(base + (i % CIS))));
    clients.push(...many);
    const perClient = 250;
    const t0 = process.hrtime.bigint();
    await Promise.all(many.map(async (c) => {
      for (let i = 0; i < perClient; i++) await c.ask({ content: `hello ${i}` });
    }));
    const throughput = (many.length * perClient) / (msSince(t0) / 1000);
    model.requests.length = 0;

    const big = 'x'.repeat(200 * 1024);
    model.answer = () => big;
    const bigTimes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = process.hrtime.bigint();
      const a = await one.ask({ content: 'long' });
      if (a.content.length !== big.length) throw new Error('a long answer arrived cut');
      bigTimes.push(msSince(t));
    }

    const t1 = process.hrtime.bigint();
    await registry.checkHealth();
    const healthRound = msSince(t1);

    report('project-ci-socket', [
      { name: 'round trip p50 (instant model)', value: percentile(latencies, 50), unit: 'ms', goal: '<= 2' },
      { name: 'round trip p99 (instant model)', value: percentile(latencies, 99), unit: 'ms', goal: '<= 10' },
      { name: 'throughput, 20 clients on 20 CIs', value: throughput, unit: 'msg/s', goal: '>= 1000' },
      { name: '200 KB answer p50', value: percentile(bigTimes, 50), unit: 'ms', goal: '<= 20' },
      { name: `health round over ${CIS} CIs`, value: healthRound, unit: 'ms', goal: '<= 500' },
    ], 'In-memory repository and an instant model: the socket layer alone. With the database each message adds one transaction.');
  } finally {
    for (const c of clients) c.close();
    await registry.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
