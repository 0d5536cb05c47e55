// The bus trusts no payload for identity (issue 16). Anything that reaches RabbitMQ without the
// platform secret — a raw amqplib client as code in a jail would use, a service with another key, a
// replayed signature on other bytes — must not get a command handled, an event delivered or a reply
// believed. Each refusal is checked against a positive control (the same message, correctly signed,
// IS handled), so these tests fail if the refusal came from anything but the signature.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import * as amqplib from 'amqplib';
import { AppError, catalog, Exchanges, Headers, Queues, UNAUTHENTICATED_REASON } from '@codeagent/contracts';
import { createLogger, prom } from '@codeagent/telemetry';
import { createTestBroker, TEST_BUS_SECRET, testLogger, waitFor, type TestBroker } from '@codeagent/testing';
import { TestCatalog } from './catalog';
import { Bus, BusSigner, type MessageContext } from '../src/index';

let broker: TestBroker;
let raw: amqplib.ChannelModel;
let ch: amqplib.ConfirmChannel;
const buses: Bus[] = [];
const logLines: string[] = [];

/** Every orchestrator command, each recording what it was asked and by whom: a stand-in orchestrator. */
const handled: Array<{ name: string; payload: unknown; publisher: string }> = [];
const orchestratorCommands = Object.keys(catalog.commands).filter((n) => catalog.commands[n as keyof typeof catalog.commands].service === 'orchestrator');

beforeAll(async () => {
  broker = await createTestBroker('bus-auth');
  // The orchestrator's real command catalog, so the forged messages are ones a real orchestrator would act on.
  const logger = createLogger('bus-auth', { level: 'info', destination: new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }) });
  const orchestrator = await Bus.connect({ url: broker.url, service: 'orchestrator', instanceId: 'orch-auth', logger });
  buses.push(orchestrator);
  const handlers = Object.fromEntries(
    orchestratorCommands.map((n) => [n, async (payload: unknown, ctx: MessageContext) => (handled.push({ name: n, payload, publisher: ctx.publisher }), {})]),
  );
  await orchestrator.handleCommands('orchestrator', handlers as never);
  raw = await amqplib.connect(broker.url);
  ch = await raw.createConfirmChannel();
});

afterAll(async () => {
  await raw?.close().catch(() => undefined);
  await Promise.all(buses.map((b) => b.close(1_000)));
  await broker?.dispose();
});

/** A schema-valid request to close someone's session as an admin: what a forger would most like to send. */
function closeCommand(sessionId: string) {
  const env = { id: randomUUID(), type: 'command', timestamp: new Date().toISOString(), payload: { sessionId, actor: { userId: 'mallory', role: 'admin' } }, metadata: { version: '1', client: 'gateway', user: 'mallory' } };
  return { env, body: Buffer.from(JSON.stringify(env)) };
}

function publish(routingKey: string, body: Buffer, opts: amqplib.Options.Publish, exchange: string = Exchanges.commands): Promise<void> {
  return new Promise((resolve, reject) => ch.publish(exchange, routingKey, body, { contentType: 'application/json', persistent: true, ...opts }, (err) => (err ? reject(err) : resolve())));
}

async function refusedCount(kind: string, reason: string): Promise<number> {
  const metric = prom.register.getSingleMetric('bus_unauthenticated_total');
  const values = metric ? (await metric.get()).values : [];
  return values.find((v) => v.labels.kind === kind && v.labels.reason === reason)?.value ?? 0;
}

async function deadLettered(envelopeId: string) {
  return waitFor(`${envelopeId} in the dead-letter queue`, async () => (await broker.peek(Queues.deadLetter)).find((m) => m.payload.includes(envelopeId)), { timeoutMs: 10_000, intervalMs: 100 });
}

/** A correctly signed command sent after a refused one: once it is handled, the refused one had its chance too. */
async function signedControl(): Promise<void> {
  const { env, body } = closeCommand(`ses_control_${randomUUID()}`);
  const signer = new BusSigner(TEST_BUS_SECRET);
  await publish('orchestrator.session.close', body, { messageId: env.id, type: 'orchestrator.session.close', headers: signer.headers('gateway', { messageId: env.id, type: 'orchestrator.session.close' }, body) });
  await waitFor('the signed control command to be handled', () => handled.some((h) => (h.payload as { sessionId: string }).sessionId === env.payload.sessionId), { timeoutMs: 10_000 });
}

const wasHandled = (sessionId: string) => handled.some((h) => (h.payload as { sessionId: string }).sessionId === sessionId);

test('a correctly signed raw message is handled, and the handler sees the signed publisher', async () => {
  const { env, body } = closeCommand('ses_signed');
  const headers = new BusSigner(TEST_BUS_SECRET).headers('gateway', { messageId: env.id, type: 'orchestrator.session.close' }, body);
  await publish('orchestrator.session.close', body, { messageId: env.id, type: 'orchestrator.session.close', headers });
  await waitFor('the signed close to be handled', () => wasHandled('ses_signed'));
  expect(handled.find((h) => (h.payload as { sessionId: string }).sessionId === 'ses_signed')).toMatchObject({ name: 'orchestrator.session.close', publisher: 'gateway' });
});

test('an unsigned command from a raw connection is not handled: dead-lettered as unauthenticated, counted, logged without its payload', async () => {
  const before = await refusedCount('command', 'unsigned');
  const { env, body } = closeCommand('ses_unsigned');
  // It even claims to be the gateway: a claim without a signature is worth nothing.
  await publish('orchestrator.session.close', body, { messageId: env.id, type: 'orchestrator.session.close', headers: { [Headers.publisher]: 'gateway' } });
  const dead = await deadLettered(env.id);
  expect(dead.properties.headers?.[Headers.deathReason]).toBe(UNAUTHENTICATED_REASON);
  expect(dead.properties.headers?.['x-original-queue']).toBe(Queues.commands('orchestrator'));
  await signedControl();
  expect(wasHandled('ses_unsigned')).toBe(false);
  expect(await refusedCount('command', 'unsigned')).toBe(before + 1);
  const line = logLines.find((l) => l.includes('unauthenticated message dead-lettered'));
  expect(line).toBeDefined();
  expect(JSON.parse(line!)).toMatchObject({ routingKey: 'orchestrator.session.close', reason: 'unsigned', claimedPublisher: 'gateway' });
  expect(logLines.join('\n')).not.toContain('mallory');
});

test('a command signed with another key is refused', async () => {
  const before = await refusedCount('command', 'bad-signature');
  const { env, body } = closeCommand('ses_wrong_key');
  const forger = new BusSigner(randomBytes(32).toString('hex'));
  await publish('orchestrator.session.close', body, { messageId: env.id, type: 'orchestrator.session.close', headers: forger.headers('gateway', { messageId: env.id, type: 'orchestrator.session.close' }, body) });
  expect((await deadLettered(env.id)).properties.headers?.[Headers.deathReason]).toBe(UNAUTHENTICATED_REASON);
  await signedControl();
  expect(wasHandled('ses_wrong_key')).toBe(false);
  expect(await refusedCount('command', 'bad-signature')).toBe(before + 1);
});

test('a valid signature on other bytes, or on another command type, is refused', async () => {
  const signer = new BusSigner(TEST_BUS_SECRET);
  // A signature captured from a harmless message, put on a tampered body (same id, another session).
  const harmless = closeCommand('ses_harmless');
  const tampered = { ...harmless.env, payload: { ...harmless.env.payload, sessionId: 'ses_tampered' } };
  const tamperedBody = Buffer.from(JSON.stringify(tampered));
  const stolen = signer.headers('gateway', { messageId: harmless.env.id, type: 'orchestrator.session.close' }, harmless.body);
  await publish('orchestrator.session.close', tamperedBody, { messageId: harmless.env.id, type: 'orchestrator.session.close', headers: stolen });
  // The exact bytes of a signed session.get, re-labelled as a session.close.
  const relabelled = closeCommand('ses_relabelled');
  const getSignature = signer.headers('gateway', { messageId: relabelled.env.id, type: 'orchestrator.session.get' }, relabelled.body);
  await publish('orchestrator.session.close', relabelled.body, { messageId: relabelled.env.id, type: 'orchestrator.session.close', headers: getSignature });
  // The signature is right, the publisher it names is not the one signed.
  const renamed = closeCommand('ses_renamed');
  const asShell = signer.headers('shell', { messageId: renamed.env.id, type: 'orchestrator.session.close' }, renamed.body);
  await publish('orchestrator.session.close', renamed.body, { messageId: renamed.env.id, type: 'orchestrator.session.close', headers: { ...asShell, [Headers.publisher]: 'gateway' } });

  for (const id of [harmless.env.id, relabelled.env.id, renamed.env.id]) {
    const dead = await waitFor(`${id} dead-lettered`, async () => (await broker.peek(Queues.deadLetter)).filter((m) => m.payload.includes(id)).find((m) => m.properties.headers?.[Headers.deathReason] === UNAUTHENTICATED_REASON));
    expect(dead).toBeDefined();
  }
  await signedControl();
  expect(['ses_tampered', 'ses_harmless', 'ses_relabelled', 'ses_renamed'].filter(wasHandled)).toEqual([]);
});

test('events without a valid signature never reach subscribers', async () => {
  const received: number[] = [];
  const consumer = await Bus.connect({ url: broker.url, service: 'analytics', instanceId: 'events-auth', logger: testLogger(), catalog: TestCatalog });
  buses.push(consumer);
  await consumer.subscribe('auth-events', { 'test.happened': async (p: { n: number }) => void received.push(p.n) } as never);
  const before = await refusedCount('event', 'unsigned');
  const event = (n: number) => Buffer.from(JSON.stringify({ id: `evt-${n}-${randomUUID()}`, type: 'event', timestamp: new Date().toISOString(), payload: { n }, metadata: { version: '1' } }));
  await publish('test.happened', event(1), { type: 'test.happened' }, Exchanges.events);
  const forger = new BusSigner(randomBytes(32).toString('hex'));
  const wrongKey = event(2);
  await publish('test.happened', wrongKey, { type: 'test.happened', headers: forger.headers('gateway', { type: 'test.happened' }, wrongKey) }, Exchanges.events);
  // The control, through the bus itself: once it arrives, the two before it were consumed too.
  const producer = await Bus.connect({ url: broker.url, service: 'gateway', instanceId: 'events-auth-producer', logger: testLogger(), catalog: TestCatalog });
  buses.push(producer);
  await (producer as unknown as { publish(n: string, p: unknown): Promise<void> }).publish('test.happened', { n: 3 });
  await waitFor('the signed event', () => received.includes(3));
  expect(received).toEqual([3]);
  await waitFor('both refusals counted', async () => (await refusedCount('event', 'unsigned')) === before + 1 && (await refusedCount('event', 'bad-signature')) >= 1);
});

test('a forged reply to a request is refused and fails the request with a clear error', async () => {
  // A rogue consumer on the service's queue, without the secret, answering as fast as it can.
  const rogueBroker = await createTestBroker('bus-auth-reply');
  const rogue = await amqplib.connect(rogueBroker.url);
  try {
    const rch = await rogue.createChannel();
    await rch.assertExchange(Exchanges.commands, 'topic', { durable: true });
    await rch.assertQueue(Queues.commands('analytics'), { durable: true, arguments: { 'x-queue-type': 'classic', 'x-queue-version': 2 } });
    await rch.bindQueue(Queues.commands('analytics'), Exchanges.commands, 'analytics.echo');
    const forger = new BusSigner(randomBytes(32).toString('hex'));
    let mode: 'unsigned' | 'wrong-key' = 'unsigned';
    await rch.consume(Queues.commands('analytics'), (msg) => {
      if (!msg) return;
      const reply = { id: randomUUID(), type: 'response', timestamp: new Date().toISOString(), payload: { text: 'forged', by: 'rogue' }, metadata: { version: '1', client: 'analytics' } };
      const body = Buffer.from(JSON.stringify(reply));
      const correlationId = msg.properties.correlationId as string;
      const headers = mode === 'wrong-key' ? forger.headers('analytics', { messageId: reply.id, type: 'response', correlationId }, body) : { [Headers.publisher]: 'analytics' };
      rch.sendToQueue(msg.properties.replyTo as string, body, { correlationId, messageId: reply.id, type: 'response', headers });
      rch.ack(msg);
    });
    const client = await Bus.connect({ url: rogueBroker.url, service: 'gateway', instanceId: 'reply-auth', logger: testLogger(), catalog: TestCatalog });
    buses.push(client);
    const ask = () => (client as unknown as { request(n: string, p: unknown, o: object): Promise<unknown> }).request('analytics.echo', { text: 'hi' }, { timeoutMs: 5_000 });

    const before = await refusedCount('reply', 'unsigned');
    const t0 = Date.now();
    const err = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'INTERNAL', details: { reason: UNAUTHENTICATED_REASON } });
    expect((err as AppError).message).toBe("the reply to analytics.echo was refused: it is not signed with this platform's CODEAGENT_BUS_SECRET (unsigned)");
    expect(Date.now() - t0).toBeLessThan(4_000); // refused on arrival, not left to time out
    expect(await refusedCount('reply', 'unsigned')).toBe(before + 1);

    mode = 'wrong-key';
    await expect(ask()).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('(bad-signature)') });
  } finally {
    await rogue.close().catch(() => undefined);
    await rogueBroker.dispose();
  }
});

test('a bus without the platform secret, or with a short one, does not connect', async () => {
  const saved = process.env.CODEAGENT_BUS_SECRET;
  delete process.env.CODEAGENT_BUS_SECRET;
  try {
    await expect(Bus.connect({ url: broker.url, service: 'x', instanceId: 'no-secret', logger: testLogger() })).rejects.toThrow(/CODEAGENT_BUS_SECRET is not set/);
    await expect(Bus.connect({ url: broker.url, service: 'x', instanceId: 'short', logger: testLogger(), secret: 'too-short' })).rejects.toThrow(/shorter than 32 characters/);
  } finally {
    process.env.CODEAGENT_BUS_SECRET = saved;
  }
});
