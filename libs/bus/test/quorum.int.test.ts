import { AppError, Headers, Queues } from '@codeagent/contracts';
import { createTestBroker, management, testLogger, waitFor, type TestBroker } from '@codeagent/testing';
import { Bus } from '../src/index';
import { TestCatalog } from './catalog';

// Quorum queues (issue 23, "beyond one machine"): with queueType 'quorum' (BUS_QUEUE_TYPE=quorum for
// the services) every durable queue the bus declares, on the local broker, is a quorum queue: the
// service's command queue, shared and single-active event queues, a replica's own event queue, the
// dead-letter queue and the retry levels; and the bus works on them as on classic ones (request and
// reply, events, retries with back-off, dead letters).
type AnyBus = { request(n: string, p: unknown, o?: object): Promise<any>; publish(n: string, p: unknown, o?: object): Promise<void> };
const any = (b: Bus) => b as unknown as AnyBus;

let broker: TestBroker;
const buses: Bus[] = [];
const connect = async (service: string) => {
  const bus = await Bus.connect({ url: broker.url, service, instanceId: `${service}-${buses.length}`, logger: testLogger(), catalog: TestCatalog, queueType: 'quorum' });
  buses.push(bus);
  return bus;
};

beforeAll(async () => {
  broker = await createTestBroker('quorum');
});
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close(1_000)));
  await broker.dispose();
});

test('every durable queue is a quorum queue, and requests, events, retries and dead letters work on them', async () => {
  const server = await connect('analytics');
  await server.handleCommands('analytics', {
    'analytics.echo': async (p: { text: string }) => ({ text: p.text, by: 'quorum' }),
    'analytics.fail': async () => ({}),
  } as never);
  const attempts: number[] = [];
  const replicaSeen: number[] = [];
  const singleSeen: number[] = [];
  await server.subscribe('quorum-shared', {
    'test.happened': async (p: { n: number }, ctx: { attempt: number }) => {
      attempts.push(p.n * 10 + ctx.attempt);
      if (p.n === 1 && ctx.attempt < 1) throw new AppError('SERVICE_UNAVAILABLE', 'busy', { retryable: true });
      if (p.n === 2) throw new AppError('NOT_FOUND', 'gone for good');
    },
  } as never);
  await server.subscribe('quorum-replica', { 'test.happened': async (p: { n: number }) => void replicaSeen.push(p.n) } as never, { durable: false });
  await server.subscribe('quorum-single', { 'test.happened': async (p: { n: number }) => void singleSeen.push(p.n) } as never, { singleActive: true });

  const client = await connect('gateway');
  expect(await any(client).request('analytics.echo', { text: 'replicated' })).toEqual({ text: 'replicated', by: 'quorum' });
  await any(client).publish('test.happened', { n: 1 });
  await any(client).publish('test.happened', { n: 2 });
  await waitFor('the retried event handled on its second attempt', () => attempts.includes(11), { timeoutMs: 15_000 });
  await waitFor('the other subscriptions', () => replicaSeen.length === 2 && singleSeen.length === 2, { timeoutMs: 10_000 });
  const dead = await waitFor('the dead letter', async () => (await broker.peek(Queues.deadLetter)).find((m) => String(m.properties.headers?.[Headers.deathReason]).includes('gone for good')));
  expect(dead.properties.headers?.['x-original-queue']).toBe(Queues.events('quorum-shared'));

  const queues = (await management('GET', `/queues/${encodeURIComponent(broker.vhost)}`)) as Array<{ name: string; durable: boolean; type: string }>;
  const durable = queues.filter((q) => q.durable);
  expect(durable.map((q) => q.name)).toEqual(
    expect.arrayContaining([Queues.commands('analytics'), Queues.events('quorum-shared'), Queues.events('quorum-single'), Queues.deadLetter, expect.stringMatching(/^codeagent\.retry\./), expect.stringContaining('quorum-replica')]),
  );
  expect(durable.filter((q) => q.type !== 'quorum')).toEqual([]);
});
