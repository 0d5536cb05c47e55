import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AppError, Headers, Queues } from '@codeagent/contracts';
import { createTestBroker, deferred, management, spawnTs, TEST_BUS_SECRET, testLogger, waitFor, type TestBroker } from '@codeagent/testing';
import { Bus, BusSigner } from '../src/index';
import { lostWithChannel } from '../src/connection';
import { TestCatalog } from './catalog';

const run = promisify(execFile);
// The test catalog's names are not in the platform's types: these keep the calls readable.
type AnyBus = { request(n: string, p: unknown, o?: object): Promise<any>; publish(n: string, p: unknown, o?: object): Promise<void> };
const any = (b: Bus) => b as unknown as AnyBus;

let broker: TestBroker;
const buses: Bus[] = [];
const afterCleanups: Array<() => Promise<void>> = [];
async function connect(service: string, extra: Partial<Parameters<typeof Bus.connect>[0]> = {}): Promise<Bus> {
  const bus = await Bus.connect({ url: broker.url, service, instanceId: `${service}-${buses.length}`, logger: testLogger(), catalog: TestCatalog, ...extra });
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  broker = await createTestBroker('bus');
});
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close(1_000)));
  for (const c of afterCleanups.splice(0)) await c();
});
afterAll(async () => {
  await broker.dispose();
});

test('request/reply between two processes, and the service error comes back as an AppError', async () => {
  const server = spawnTs('libs/bus/test/echo-server.ts', { BUS_URL: broker.url });
  try {
    const serverPid = await waitFor('echo server ready', () => /ready (pid-\d+)/.exec(server.output())?.[1], { timeoutMs: 20_000 });
    const client = await connect('gateway');
    const reply = await any(client).request('analytics.echo', { text: 'hello' });
    expect(reply).toEqual({ text: 'hello', by: serverPid });
    expect(serverPid).not.toBe(`pid-${process.pid}`);
    const failure = await any(client).request('analytics.fail', { code: 'x' }).catch((e) => e);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure.code).toBe('INTERNAL');
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test('setups cut short when the connection drops during a reconnect are waited out: the process lives on and answers', async () => {
  const server = spawnTs('libs/bus/test/echo-server.ts', { BUS_URL: broker.url });
  try {
    const pid = await waitFor('echo server ready', () => /ready pid-(\d+)/.exec(server.output())?.[1], { timeoutMs: 20_000 });
    // Its queue declared again with other arguments: when the subscription's setup runs again the
    // broker refuses it (406), which drops the connection while the other channels' setups run.
    const queue = `/queues/${encodeURIComponent(broker.vhost)}/${encodeURIComponent(Queues.events('echo-watch'))}`;
    await management('DELETE', queue);
    await management('PUT', queue, { durable: true, arguments: { 'x-max-length': 5 } });
    // The management API lists a connection once its statistics are in (a few seconds).
    const conn = await waitFor('the server\'s connection listed', async () => {
      const connections = (await management('GET', `/vhosts/${encodeURIComponent(broker.vhost)}/connections`)) as Array<{ name: string; client_properties: { connection_name?: string } }>;
      return connections.find((c) => c.client_properties.connection_name === `analytics:echo-${pid}`);
    }, { timeoutMs: 20_000 });
    await management('DELETE', `/connections/${encodeURIComponent(conn.name)}`);
    await waitFor('the refused setup logged', () => server.output().includes('a channel setup failed'), { timeoutMs: 20_000 });
    // A setup cut short emitted an error event on its channel; without a listener the process died here.
    await waitFor('a setup cut short', () => server.output().includes('the broker went away while the channel was set up'), { timeoutMs: 20_000 });
    // The queue put right: the next reconnect sets everything up, and the same process answers.
    await management('DELETE', queue);
    const client = await connect('gateway');
    expect(await waitFor('an answer after the reconnect', () => any(client).request('analytics.echo', { text: 'still here' }).catch(() => undefined), { timeoutMs: 20_000 })).toEqual({ text: 'still here', by: `pid-${pid}` });
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test('an operation cut short by a lost connection counts as lost with the channel; a refusal by the broker does not', async () => {
  const amqp = await import('amqplib');
  const raw = await amqp.connect(broker.url);
  raw.on('error', () => undefined);
  const ch = await raw.createChannel();
  ch.on('error', () => undefined);
  const refused = await ch.assertExchange('amq.direct', 'fanout').catch((e: unknown) => e);
  expect(lostWithChannel(refused)).toBe(false);
  const ch2 = await raw.createChannel();
  ch2.on('error', () => undefined);
  const cut = ch2.assertQueue('cut-short').catch((e: unknown) => e);
  await raw.close().catch(() => undefined);
  expect(lostWithChannel(await cut)).toBe(true);
});

test('a request nobody consumes times out naming the service; one with no queue at all fails at once', async () => {
  // A vhost of its own: no earlier test has declared the analytics queue in it.
  const fresh = await createTestBroker('bus-noqueue');
  const client = await connect('gateway', { url: fresh.url });
  const server = await connect('analytics', { url: fresh.url });
  afterCleanups.push(() => fresh.dispose());
  // No analytics queue exists in this vhost yet: the broker returns the message.
  const t0 = Date.now();
  const unroutable = await any(client).request('analytics.echo', { text: 'x' }, { timeoutMs: 5_000 }).catch((e) => e);
  expect(unroutable).toBeInstanceOf(AppError);
  expect(unroutable.code).toBe('SERVICE_UNAVAILABLE');
  expect(unroutable.message).toContain('no analytics service is running');
  expect(Date.now() - t0).toBeLessThan(4_000);

  // The queue exists (a replica ran once) but nobody consumes now: only the timeout can tell.
  await server.handleCommands('analytics', { 'analytics.echo': async () => ({ text: '', by: '' }), 'analytics.fail': async () => ({}) } as never);
  await server.close(100);
  const timedOut = await any(client).request('analytics.echo', { text: 'x' }, { timeoutMs: 300 }).catch((e) => e);
  expect(timedOut.code).toBe('SERVICE_TIMEOUT');
  expect(timedOut.message).toBe('analytics did not answer analytics.echo within 300 ms');
  expect(timedOut.details).toMatchObject({ service: 'analytics', command: 'analytics.echo' });
});

test('a malformed message is dead-lettered with its reason and the consumer goes on', async () => {
  const received: number[] = [];
  const consumer = await connect('analytics');
  await consumer.subscribe('dlq-test', { 'test.happened': async (p: { n: number }) => void received.push(p.n) } as never);
  const producer = await connect('gateway');
  const raw = await connect('raw');
  // Bypass validation on publish the way a buggy platform producer would: straight onto the exchange,
  // signed (an unsigned message is refused before validation: auth.int.test.ts).
  const publisher = (raw as unknown as { publisher: { publish: Function } }).publisher;
  const signer = new BusSigner(TEST_BUS_SECRET);
  const rawPublish = (body: Buffer) => publisher.publish('codeagent.events', 'test.happened', body, { type: 'test.happened', headers: signer.headers('raw', { type: 'test.happened' }, body) });
  await rawPublish(Buffer.from('{not json'));
  await rawPublish(Buffer.from(JSON.stringify({ id: 'bad-1', type: 'event', timestamp: new Date().toISOString(), payload: { n: 'seven' }, metadata: { version: '1' } })));
  await any(producer).publish('test.happened', { n: 1 });
  await waitFor('the valid message after the bad ones', () => received.includes(1));
  const dead = await waitFor('two dead letters', async () => {
    const msgs = (await broker.peek(Queues.deadLetter)).filter((m) => m.properties.headers?.['x-original-queue'] === Queues.events('dlq-test'));
    return msgs.length >= 2 ? msgs : undefined;
  });
  const reasons = dead.map((m) => String(m.properties.headers?.[Headers.deathReason]));
  expect(reasons).toEqual(expect.arrayContaining(['body is not JSON', expect.stringMatching(/^invalid test.happened payload: n: /)]));
  // Publishing an invalid payload through the bus is refused before it reaches the broker.
  await expect(any(producer).publish('test.happened', { n: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
});

test('bytes in a payload cross the broker as bytes: signed, validated, handled as Buffers, and sent again as they were on a retry', async () => {
  const got: Buffer[] = [];
  let failOnce = true;
  const consumer = await connect('analytics');
  await consumer.subscribe('bytes-test', {
    'test.bytes': async (p: { n: number; data: Uint8Array }) => {
      // The first delivery fails: the retry republishes the same framed body.
      if (failOnce) {
        failOnce = false;
        throw new AppError('SERVICE_UNAVAILABLE', 'not yet', { retryable: true });
      }
      got.push(Buffer.from(p.data));
    },
  } as never);
  const producer = await connect('gateway');
  const bytes = Buffer.concat([Buffer.from([0xff, 0x00, 0x0a, 0x22]), Buffer.alloc(300_000, 'x')]);
  await any(producer).publish('test.bytes', { n: 1, data: bytes });
  await waitFor('the bytes after a retry', () => got.length === 1, { timeoutMs: 10_000 });
  expect(got[0]!.equals(bytes)).toBe(true);
  // What is not bytes where the schema wants them is refused before it reaches the broker.
  await expect(any(producer).publish('test.bytes', { n: 2, data: 'text' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
});

test("per-session events: a queue following some sessions gets theirs only, from the follow on; one subscribed to the event gets every session's", async () => {
  const some: string[] = [];
  const every: string[] = [];
  const record = (into: string[]) => ({ 'test.session': async (p: { sessionId: string; n: number }) => void into.push(`${p.sessionId}:${p.n}`) }) as never;
  const gateway = await connect('gateway');
  const live = await gateway.subscribe('per-session-some', record(some), { durable: false, transient: true, ordered: true, followedSessionsOnly: true });
  const store = await connect('orchestrator');
  await store.subscribe('per-session-every', record(every), { durable: false, ordered: true });
  const producer = await connect('shell');
  const publish = (sessionId: string, n: number) => any(producer).publish('test.session', { sessionId, n });
  await publish('s1', 1);
  await live.follow('s1');
  // A dot in an id is one routing word all the same.
  await live.follow('s.3');
  for (const [id, n] of [['s1', 2], ['s2', 3], ['s.3', 4]] as const) await publish(id, n);
  await live.unfollow('s1');
  await publish('s1', 5);
  await publish('s.3', 6);
  await waitFor('every event on the queue bound to every session', () => every.length === 6);
  await waitFor('the followed sessions on the other', () => some.length === 3);
  expect(every).toEqual(['s1:1', 's1:2', 's2:3', 's.3:4', 's1:5', 's.3:6']);
  // One queue delivers in order: had s1:5 been routed to it, it would have come before s.3:6.
  expect(some).toEqual(['s1:2', 's.3:4', 's.3:6']);
});

test('subscribeAll with except: the events left out never reach the queue, though an earlier catch-all bound it', async () => {
  const got: string[] = [];
  const before = await connect('analytics');
  await before.subscribeAll('all-but', async () => undefined);
  await before.close(100); // the durable queue stays, bound with '#'
  const consumer = await connect('analytics');
  await consumer.subscribeAll('all-but', async (name) => void got.push(name), { except: ['test.logged' as never] });
  const producer = await connect('gateway');
  // One queue delivers in order: had the log line been routed, it would arrive first.
  await any(producer).publish('test.logged', { text: 'a chunk nobody here wants' });
  await any(producer).publish('test.happened', { n: 1 });
  await waitFor('the fact', () => got.includes('test.happened'));
  expect(got).toEqual(['test.happened']);
});

test("a transient subscription's queue is the replica's own, not durable, and gone with its connection", async () => {
  const server = await connect('analytics');
  const seen: number[] = [];
  await server.subscribe('live-view', { 'test.happened': async (p: { n: number }) => void seen.push(p.n) } as never, { durable: false, transient: true, ordered: true });
  const client = await connect('gateway');
  await any(client).publish('test.happened', { n: 1 });
  await waitFor('the event on the transient queue', () => seen.includes(1));
  const find = async () =>
    ((await management('GET', `/queues/${encodeURIComponent(broker.vhost)}`)) as Array<{ name: string; durable: boolean; exclusive: boolean }>).find((q) => q.name.startsWith(Queues.events('live-view')));
  expect(await find()).toMatchObject({ durable: false, exclusive: true, name: `${Queues.events('live-view')}.analytics-0.live` });
  await server.close(1_000);
  await waitFor('the queue gone with the connection', async () => (await find()) === undefined);
});

test('a transient queue must not be durable', async () => {
  const server = await connect('analytics');
  await expect(server.subscribe('bad', { 'test.happened': async () => undefined } as never, { transient: true })).rejects.toThrow('durable must be false');
});

test('a failing handler is retried with back-off, then succeeds; exhausted retries are dead-lettered', async () => {
  const attempts: number[] = [];
  const consumer = await connect('analytics');
  await consumer.subscribe('retry-test', {
    'test.happened': async (p: { n: number }, ctx: { attempt: number }) => {
      attempts.push(ctx.attempt);
      if (p.n === 1 && ctx.attempt < 2) throw new AppError('SERVICE_UNAVAILABLE', 'database busy', { retryable: true });
      if (p.n === 2) throw new AppError('NOT_FOUND', 'no such thing');
    },
  } as never);
  const producer = await connect('gateway');
  await any(producer).publish('test.happened', { n: 1 });
  await waitFor('third attempt', () => attempts.length >= 3, { timeoutMs: 10_000 });
  expect(attempts.slice(0, 3)).toEqual([0, 1, 2]);
  // A non-retryable failure goes to the dead-letter queue at once, with the handler's message.
  await any(producer).publish('test.happened', { n: 2 });
  const dead = await waitFor('dead letter', async () => (await broker.peek(Queues.deadLetter)).find((m) => String(m.properties.headers?.[Headers.deathReason]).includes('no such thing')));
  expect(dead.properties.headers?.[Headers.deathService]).toBe('analytics');
  expect(dead.properties.headers?.['x-original-queue']).toBe(Queues.events('retry-test'));
  expect(attempts.filter((a) => a === 0)).toHaveLength(2); // n=2 ran once: no retry for a user-fault error
});

test('a redelivered envelope id is handled once', async () => {
  const seen: number[] = [];
  const consumer = await connect('analytics');
  await consumer.subscribe('dedupe-test', { 'test.happened': async (p: { n: number }) => void seen.push(p.n) } as never);
  const producer = await connect('gateway');
  await any(producer).publish('test.happened', { n: 7 }, { id: 'same-id' });
  await any(producer).publish('test.happened', { n: 7 }, { id: 'same-id' });
  await any(producer).publish('test.happened', { n: 8 }, { id: 'other-id' });
  await waitFor('the third message', () => seen.includes(8));
  expect(seen).toEqual([7, 8]);
});

test('closing every connection in the middle of a confirmed stream loses no confirmed message', async () => {
  const received = new Set<number>();
  const consumer = await connect('analytics');
  await consumer.subscribe('reconnect-test', { 'test.happened': async (p: { n: number }) => void received.add(p.n) } as never);
  const producer = await connect('gateway');
  const confirmed: number[] = [];
  const total = 3_000;
  const kill = deferred();
  const publishing = (async () => {
    for (let n = 0; n < total; n += 50) {
      if (n === 1_000) kill.resolve();
      const batch = Array.from({ length: 50 }, (_, i) => n + i);
      const results = await Promise.allSettled(batch.map((k) => any(producer).publish('test.happened', { n: k })));
      results.forEach((r, i) => r.status === 'fulfilled' && confirmed.push(batch[i]!));
    }
  })();
  await kill.promise;
  await run('rabbitmqctl', ['close_all_connections', 'test: broker dropped connections']);
  await publishing;
  expect(confirmed.length).toBeGreaterThan(0);
  await waitFor(`all ${confirmed.length} confirmed messages`, () => confirmed.every((n) => received.has(n)), { timeoutMs: 30_000 });
  // And the consumer keeps consuming after the reconnect.
  await any(producer).publish('test.happened', { n: total + 1 });
  await waitFor('a message after the reconnect', () => received.has(total + 1), { timeoutMs: 15_000 });
}, 60_000);

test('close() stops consuming, lets the running handler finish, and leaves the rest queued', async () => {
  const started = deferred();
  const release = deferred();
  let finished = 0;
  const consumer = await connect('analytics', { prefetch: 1 });
  await consumer.subscribe('drain-test', {
    'test.happened': async () => {
      started.resolve();
      await release.promise;
      finished++;
    },
  } as never);
  const producer = await connect('gateway');
  for (let n = 0; n < 5; n++) await any(producer).publish('test.happened', { n });
  await started.promise;
  const closing = consumer.close(5_000);
  setTimeout(() => release.resolve(), 100);
  await closing;
  expect(finished).toBe(1);
  await waitFor('4 messages left for another replica', async () => (await broker.queueDepth(Queues.events('drain-test'))) === 4, { timeoutMs: 10_000 });
});
