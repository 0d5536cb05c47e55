import { createTestBroker, type TestBroker } from '@codeagent/testing';
import { FakeOrchestrator } from './fake-orchestrator';
import { http, startTestGateway, type TestGateway } from './harness';

// The gateway's placement cache against a real broker: a session's commands go to the shell replica
// its placement names, read from the orchestrator once; a status event updates it; a replica that is
// gone makes the gateway read the placement again, once, and follow the jail if it moved, or wait a
// little for it to come back. A session's end (session.closed, heard for every session) updates it,
// though nobody on the gateway follows the session's log.
let broker: TestBroker;
let orch: FakeOrchestrator;
let gw: TestGateway;
const reads = (sessionId: string) => orch.received.filter((r) => r.name === 'orchestrator.session.get' && (r.payload as { sessionId: string }).sessionId === sessionId).length;
const exec = (sessionId: string, command: string) => http(gw.url, 'POST', `/api/v1/sessions/${sessionId}/exec`, { body: { command } });

beforeAll(async () => {
  broker = await createTestBroker('gateway-placement');
  orch = await FakeOrchestrator.start(broker.url);
  gw = await startTestGateway(broker.url);
}, 30_000);
afterAll(async () => {
  await gw?.stop();
  await orch?.close();
  await broker?.dispose();
});

test('commands are authorised and routed from the placement read once: no orchestrator call per command', async () => {
  const sessionId = orch.addSession('local');
  for (const word of ['a', 'b', 'c']) expect((await exec(sessionId, `echo ${word}`)).body).toMatchObject({ exitCode: 0, stdout: `${word}\n` });
  expect(reads(sessionId)).toBe(1);
  expect(orch.received.filter((r) => r.name === 'orchestrator.session.exec')).toEqual([]);
});

test('session.closed closes the cached session: the next command is a 409 INVALID_STATE, not sent to the shell', async () => {
  const sessionId = orch.addSession('local');
  await exec(sessionId, 'echo warm');
  // The fake's record still says ready: only the fact tells the gateway.
  await orch.bus.publish('session.closed', { sessionId, user: 'local', status: 'closed', at: new Date().toISOString(), durationMs: 1 });
  let res = await exec(sessionId, 'echo late');
  // The event travels on the gateway's own queue; until it is there the command still runs.
  while (res.status === 200) res = await exec(sessionId, 'echo late');
  expect(res.status).toBe(409);
  expect(res.body).toMatchObject({ code: 'INVALID_STATE' });
  expect(res.body.detail).toContain('is closed');
  // Said by the cached placement: the orchestrator was not asked again (and would have said ready).
  expect(reads(sessionId)).toBe(1);
});

test('the shell replica gone: the placement is read again once and the command follows the jail to its new replica', async () => {
  const sessionId = orch.addSession('local');
  await exec(sessionId, 'echo before');
  await orch.stopShell({ moveJails: true });
  expect((await exec(sessionId, 'echo after')).body).toMatchObject({ exitCode: 0, stdout: 'after\n' });
  expect(reads(sessionId)).toBe(2);
});

test('the shell replica starting again under its name (adopting its jails): the command waits for it and runs', async () => {
  const sessionId = orch.addSession('local');
  await exec(sessionId, 'echo before');
  const { back } = await orch.restartShell(300);
  const res = await exec(sessionId, 'echo after');
  await back;
  expect(res.body).toMatchObject({ exitCode: 0, stdout: 'after\n' });
  expect(reads(sessionId)).toBe(2);
});

test('the shell replica gone and the session still naming it: 503 SERVICE_UNAVAILABLE after one read again and a few seconds of trying, no hang', async () => {
  const sessionId = orch.addSession('local');
  await exec(sessionId, 'echo before');
  await orch.stopShell({ moveJails: false });
  const t0 = Date.now();
  const res = await exec(sessionId, 'echo lost');
  expect(Date.now() - t0).toBeLessThan(5_000);
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(reads(sessionId)).toBe(2);
});
