import { freePortBlock, testLogger } from '@codeagent/testing';
import { NdjsonClient } from '../../test/ndjson-client';
import { MemoryStore, RecordingModel } from '../../test/fakes';
import { Conversation } from '../conversation/conversation';
import { ProjectCiRegistry } from '../registry/registry';
import { Answerers } from './answerers';

// Seed 004's "forward a CI to a terminal" in project-ci: a claimed project's questions, from its real TCP
// socket and from the bus door, go to the holder instead of the (recording, fake) model; one claim per
// project; the lease ends a claim whose holder stopped asking, and questions left waiting go to the model.

let base: number;
beforeAll(async () => {
  base = await freePortBlock(10);
});
const registries: ProjectCiRegistry[] = [];
const clients: NdjsonClient[] = [];

async function setup(leaseMs = 5_000, answerTimeoutMs = 10_000) {
  const store = new MemoryStore();
  const model = new RecordingModel();
  model.answer = () => 'the model says hi';
  const answerers = new Answerers({ leaseMs, answerTimeoutMs, instanceId: 'project-ci-test', log: testLogger() });
  const registry = new ProjectCiRegistry({
    host: '127.0.0.1',
    portBase: base,
    maxLineBytes: 64 * 1024,
    maxClients: 5,
    closeGraceMs: 1_000,
    maxMissedPings: 2,
    pingTimeoutMs: 1_000,
    repository: store,
    conversation: new Conversation({ history: store, model, keepMessages: 10, contextChars: 100_000 }),
    answerers,
    log: testLogger(),
  });
  registries.push(registry);
  await registry.ensure({ projectId: 'p-1', name: 'Desk', index: 0 });
  const client = await NdjsonClient.open(base);
  clients.push(client);
  return { registry, answerers, model, store, client };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(registries.splice(0).map((r) => r.stopAll()));
});

test("the holder answers the socket and the bus door; the model is not asked; the answer joins the conversation; one claim per project", async () => {
  const { registry, answerers, model, store, client } = await setup();
  const { claimId, ci } = await registry.chat.claimAnswerer('desk', 'ana');
  expect(claimId).toMatch(/^[0-9a-f-]{36}\.project-ci-test$/);
  expect(ci.project_name).toBe('Desk');

  const asked = client.ask({ content: '[Project: Desk] how is the build?', id: 3 });
  const [q] = await answerers.next(claimId, 'ana', 2_000);
  expect(q).toMatchObject({ content: 'how is the build?', via: 'socket' });
  answerers.answer(claimId, 'ana', q!.question_id, 'green');
  expect(await asked).toEqual({ content: 'green', project: 'Desk', id: 3 });

  const viaBus = registry.chat.send('p-1', 'and the deploy?', 'bus');
  const [q2] = await answerers.next(claimId, 'ana', 2_000);
  answerers.answer(claimId, 'ana', q2!.question_id, 'shipped');
  expect(await viaBus).toMatchObject({ text: 'shipped', provider: 'answerer', model: 'ana' });
  expect(model.requests).toHaveLength(0);
  expect((await store.recent('p-1', 10)).map((m) => m.content)).toEqual(['how is the build?', 'green', 'and the deploy?', 'shipped']);

  // A second claim is refused while the first holds; another user may not use or end the first.
  await expect(registry.chat.claimAnswerer('Desk', 'ben')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/already answered by someone else/) });
  await expect(answerers.next(claimId, 'ben', 0)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  expect(() => answerers.release(claimId, 'ben', 'test')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  // An answer to a question no longer waiting is NOT_FOUND, not delivered twice.
  expect(() => answerers.answer(claimId, 'ana', q!.question_id, 'again')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));

  // Released: a question handed out but not answered goes to the model; so do the next ones.
  const pending = client.ask({ content: 'still there?' });
  await answerers.next(claimId, 'ana', 2_000);
  expect(answerers.release(claimId, 'ana', 'test')).toBe(true);
  expect(await pending).toEqual({ content: 'the model says hi', project: 'Desk' });
  expect(await client.ask({ content: 'hello?' })).toEqual({ content: 'the model says hi', project: 'Desk' });
  expect(answerers.release(claimId, 'ana', 'again')).toBe(false);
  await expect(answerers.next(claimId, 'ana', 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect((await registry.chat.claimAnswerer('Desk', 'ben')).claimId).not.toBe(claimId);
});

test('a holder that stops asking loses the claim one lease later; the question waiting for it goes to the model', async () => {
  const leaseMs = 400;
  const { registry, answerers, client } = await setup(leaseMs);
  const { claimId } = await registry.chat.claimAnswerer('Desk', 'ana');
  // Polling keeps it: three leases long.
  const until = Date.now() + 3 * leaseMs;
  while (Date.now() < until) await answerers.next(claimId, 'ana', 100);
  const started = Date.now();
  // Now the holder goes silent with a question waiting.
  expect(await client.ask({ content: 'anyone?' })).toEqual({ content: 'the model says hi', project: 'Desk' });
  const waited = Date.now() - started;
  expect(waited).toBeGreaterThanOrEqual(leaseMs - 50);
  expect(waited).toBeLessThan(leaseMs + 2_000);
  await expect(answerers.next(claimId, 'ana', 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect((await registry.chat.claimAnswerer('Desk', 'ben')).claimId).toBeDefined();
});

test('a question the holder does not answer in time goes to the model; a deleted project ends its claim', async () => {
  const { registry, answerers, client } = await setup(5_000, 300);
  const { claimId } = await registry.chat.claimAnswerer('Desk', 'ana');
  const asked = client.ask({ content: 'quick?' });
  await answerers.next(claimId, 'ana', 1_000);
  expect(await asked).toEqual({ content: 'the model says hi', project: 'Desk' });

  const waiting = answerers.next(claimId, 'ana', 2_000);
  await registry.remove('p-1');
  expect(await waiting).toEqual([]);
  await expect(answerers.next(claimId, 'ana', 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
});
