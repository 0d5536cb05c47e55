import { createTestBroker, management, waitFor, type TestBroker } from '@codeagent/testing';
import { prom } from '@codeagent/telemetry';
import { request } from 'node:http';
import WebSocket from 'ws';
import { TestClient, type Msg } from './client';
import { FakeOrchestrator } from './fake-orchestrator';
import { http, startTestGateway, type TestGateway } from './harness';

let broker: TestBroker;
let orch: FakeOrchestrator;
let gw: TestGateway;
const clients: TestClient[] = [];
/** How many times the gateway has read a session's stored log (orchestrator.session.events). */
const logReads = (sessionId: string) => orch.received.filter((r) => r.name === 'orchestrator.session.events' && (r.payload as { sessionId: string }).sessionId === sessionId).length;
const client = () => {
  const c = new TestClient(gw.url);
  clients.push(c);
  return c;
};
const seqs = (ms: Msg[], sessionId: string) => ms.filter((m) => (m.type === 'stream' || m.type === 'status') && m.payload.sessionId === sessionId).map((m) => m.payload.seq as number);

beforeAll(async () => {
  broker = await createTestBroker('gateway-sockets');
  orch = await FakeOrchestrator.start(broker.url);
  gw = await startTestGateway(broker.url, { GATEWAY_REPLAY_PAGE_SIZE: '7', GATEWAY_SOCKET_MAX_BUFFERED_BYTES: String(1024 * 1024), GATEWAY_SOCKET_DRAIN_TIMEOUT_MS: '1000' });
}, 30_000);
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await gw?.stop();
  await orch?.close();
  await broker?.dispose();
});

test('/exec streams the output as stream messages and ends with a response carrying the command id', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const id = c.command('/exec', ['echo hello world'], { sessionId });
  const reply = await waitFor('exec response', () => c.reply(id), { timeoutMs: 10_000 });
  expect(reply.type).toBe('response');
  expect(reply.payload).toMatchObject({ commandId: id, exitCode: 0 });
  // The output arrived as stream messages: the response carries the result, not a second copy.
  expect(reply.payload).not.toHaveProperty('stdout');
  expect(reply.payload).not.toHaveProperty('stderr');
  const i = c.messages.indexOf(reply);
  const streams = c.messages.filter((m) => m.type === 'stream');
  expect(streams.map((m) => m.payload.data)).toEqual(['hello world\n']);
  expect(streams[0]!.payload).toMatchObject({ sessionId, stream: 'stdout', seq: 1 });
  expect(c.messages.indexOf(streams[0]!)).toBeLessThan(i);
});

test('/subscribe then /exec on one socket: each seq arrives once, and the response carries no output', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 10_000 });
  const id = c.command('/exec', ['spam 3 10'], { sessionId });
  const reply = await waitFor('exec response', () => c.reply(id), { timeoutMs: 10_000 });
  expect(reply.payload).toMatchObject({ commandId: id, exitCode: 0 });
  expect(reply.payload).not.toHaveProperty('stdout');
  // Everything up to the completion, once each: the subscription carried it, the /exec feed did not repeat it.
  await waitFor('the completion event', () => c.messages.find((m) => m.type === 'status' && m.payload.kind === 'command.completed' && (m.payload.data as { commandId?: string })?.commandId === id));
  const seqs = c.messages.filter((m) => (m.type === 'stream' || m.type === 'status') && m.payload.sessionId === sessionId).map((m) => m.payload.seq as number);
  expect(seqs).toEqual([...new Set(seqs)]);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => seqs[0]! + k));
  const out = c.messages.filter((m) => m.type === 'stream' && (m.payload as { commandId?: string }).commandId === id).map((m) => m.payload.data).join('');
  expect(out).toBe(c.messages.filter((m) => m.type === 'stream').map((m) => m.payload.data).join(''));
});

test('/subscribe then /exec, the subscription behind (waiting for the log to fill a gap): the response waits for the output', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 10_000 });
  // An event the live path lost and the log has not stored yet: the subscription holds what follows it.
  const release = orch.holdStorage(sessionId);
  await orch.emit(sessionId, 'note', { message: 'lost live, stored late' }, { publish: false });
  const before = logReads(sessionId);
  const id = c.command('/exec', ['echo behind the gap'], { sessionId });
  await waitFor('the shell ran it', () => orch.received.some((r) => r.name === 'shell.exec' && (r.payload as { commandId?: string }).commandId === id));
  await waitFor('the gap read twice', () => logReads(sessionId) >= before + 2, { timeoutMs: 10_000 });
  // The command completed live, but its output has not gone out on this socket: no response yet.
  expect(c.reply(id)).toBeUndefined();
  release();
  const reply = await waitFor('exec response', () => c.reply(id), { timeoutMs: 10_000 });
  expect(reply.payload).toMatchObject({ commandId: id, exitCode: 0 });
  const out = c.messages.filter((m) => m.type === 'stream' && (m.payload as { commandId?: string }).commandId === id);
  expect(out.map((m) => m.payload.data)).toEqual(['behind the gap\n']);
  expect(c.messages.indexOf(out[0]!)).toBeLessThan(c.messages.indexOf(reply));
});

test('/exec whose live events were lost: the output and the completion come from the durable log, once', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const id = c.command('/exec', ['quiet from the log'], { sessionId });
  const reply = await waitFor('exec response', () => c.reply(id), { timeoutMs: 10_000 });
  expect(reply.payload).toMatchObject({ commandId: id, exitCode: 0 });
  const streams = c.messages.filter((m) => m.type === 'stream');
  expect(streams.map((m) => m.payload.data)).toEqual(['from the log\n']);
  expect(c.messages.indexOf(streams[0]!)).toBeLessThan(c.messages.indexOf(reply));
});

test('/exec whose completion is neither live nor stored yet waits for the log to store it, then answers after the output', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const release = orch.holdStorage(sessionId);
  const id = c.command('/exec', ['quiet stored late'], { sessionId });
  await waitFor('the log read twice', () => logReads(sessionId) >= 2, { timeoutMs: 10_000 });
  expect(c.reply(id)).toBeUndefined();
  release();
  const reply = await waitFor('exec response', () => c.reply(id), { timeoutMs: 10_000 });
  expect(reply.payload).toMatchObject({ commandId: id, exitCode: 0 });
  const streams = c.messages.filter((m) => m.type === 'stream');
  expect(streams.map((m) => m.payload.data)).toEqual(['stored late\n']);
  expect(c.messages.indexOf(streams[0]!)).toBeLessThan(c.messages.indexOf(reply));
});

test('/exec then /subscribe while it runs: the subscription skips what the /exec feed already sent', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const id = c.command('/exec', ['echo early'], { sessionId });
  const reply = await waitFor('exec response', () => c.reply(id), { timeoutMs: 10_000 });
  expect(reply.payload).toMatchObject({ exitCode: 0 });
  const sub = c.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 10_000 });
  await waitFor('the completion replayed', () => c.messages.some((m) => m.type === 'status' && m.payload.kind === 'command.completed'));
  const seqs = c.messages.filter((m) => m.type === 'stream' || m.type === 'status').map((m) => m.payload.seq as number);
  expect(seqs.filter((s, k) => seqs.indexOf(s) !== k)).toEqual([]);
  expect(c.messages.filter((m) => m.type === 'stream').map((m) => m.payload.data)).toEqual(['early\n']);
});

test('/subscribe replays after `since` then follows live: no gap and no duplicate at the seam', async () => {
  const sessionId = orch.addSession('local');
  for (let i = 0; i < 60; i++) await orch.emit(sessionId, 'output', { stream: 'stdout', data: `old ${i}\n` }, { publish: false });
  const c = client();
  await c.connected();
  const id = c.command('/subscribe', [], { sessionId, since: 10 });
  // Live events published while the replay (pages of 7) is running.
  for (let i = 0; i < 40; i++) await orch.emit(sessionId, 'output', { stream: 'stdout', data: `new ${i}\n` });
  await waitFor('100 events', () => seqs(c.messages, sessionId).length >= 90, { timeoutMs: 15_000 }).catch((e) => { console.log(JSON.stringify(c.messages.slice(0, 3)), seqs(c.messages, sessionId).length); throw e; });
  expect(c.reply(id)?.type).toBe('response');
  const got = seqs(c.messages, sessionId);
  expect(got).toEqual(Array.from({ length: 90 }, (_, i) => i + 11));
});

test('a gap the log has not stored yet is read again until it is, and what came after it waits: all in order, none skipped', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 10_000 });
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'one\n' });
  await waitFor('seq 1', () => seqs(c.messages, sessionId).length === 1);
  const before = logReads(sessionId);
  // Storing trails from here: seq 2 is lost on the live path and not in the log yet; 3 and 4 come live.
  const release = orch.holdStorage(sessionId);
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'two\n' }, { publish: false });
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'three\n' });
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'four\n' });
  await waitFor('the gateway to read the log again', () => logReads(sessionId) >= before + 3, { timeoutMs: 10_000 });
  expect(seqs(c.messages, sessionId)).toEqual([1]); // 3 and 4 wait for 2
  release();
  await waitFor('the rest', () => seqs(c.messages, sessionId).length === 4, { timeoutMs: 10_000 });
  expect(seqs(c.messages, sessionId)).toEqual([1, 2, 3, 4]);
  expect(c.messages.filter((m) => m.type === 'stream').map((m) => m.payload.data).join('')).toBe('one\ntwo\nthree\nfour\n');
});

test('/subscribe without `since` follows live from the session\'s last event, replaying nothing', async () => {
  const sessionId = orch.addSession('local');
  for (let i = 0; i < 5; i++) await orch.emit(sessionId, 'output', { stream: 'stdout', data: `old ${i}\n` }, { publish: false });
  const c = client();
  await c.connected();
  const id = c.command('/subscribe', [], { sessionId });
  const r = await waitFor('subscribed', () => c.reply(id), { timeoutMs: 5_000 });
  expect(r.payload).toEqual({ subscribed: sessionId, since: 5 });
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'live 1\n' });
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'live 2\n' });
  await waitFor('two live events', () => seqs(c.messages, sessionId).length >= 2, { timeoutMs: 5_000 });
  expect(seqs(c.messages, sessionId)).toEqual([6, 7]);
});

test('two gateway replicas each deliver a session\'s live events to their own sockets, with no adapter between them', async () => {
  const second = await startTestGateway(broker.url);
  try {
    const sessionId = orch.addSession('local');
    const one = client();
    const other = new TestClient(second.url);
    clients.push(other);
    await Promise.all([one.connected(), other.connected()]);
    const ids = [one.command('/subscribe', [], { sessionId, since: 0 }), other.command('/subscribe', [], { sessionId, since: 0 })];
    await waitFor('both subscribed', () => one.reply(ids[0]!) && other.reply(ids[1]!), { timeoutMs: 5_000 });
    for (let i = 0; i < 3; i++) await orch.emit(sessionId, 'output', { stream: 'stdout', data: `to all ${i}\n` });
    await waitFor('both got the events', () => seqs(one.messages, sessionId).length === 3 && seqs(other.messages, sessionId).length === 3, { timeoutMs: 5_000 });
    expect(seqs(other.messages, sessionId)).toEqual([1, 2, 3]);
    expect(second.hub.listenersOf(sessionId)).toBe(1);
  } finally {
    await second.stop();
  }
});

test("a replica's live queue is bound to the sessions its clients follow, not to every session's log, and again after a reconnect", async () => {
  const followed = orch.addSession('local');
  const other = orch.addSession('local');
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId: followed, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 5_000 });
  const liveQueue = `codeagent.gateway.events.${gw.bus.instanceId}.live`;
  const keys = async () =>
    ((await management('GET', `/queues/${encodeURIComponent(broker.vhost)}/${encodeURIComponent(liveQueue)}/bindings`)) as Array<{ routing_key: string }> | undefined)?.map((b) => b.routing_key) ?? [];
  // Of these two sessions (the earlier tests' stay bound for a while after their sockets went).
  const sessionKeys = async () => (await keys()).filter((k) => k.endsWith(`.${followed}`) || k.endsWith(`.${other}`)).sort();
  expect(await sessionKeys()).toEqual([`session.event.batch.${followed}`, `session.event.${followed}`]);
  expect(await keys()).toEqual(expect.arrayContaining(['session.closed', 'session.failed']));
  // What routes a message is the binding (libs/bus's bus.int.test shows a queue gets the followed sessions' events only).
  await orch.emit(followed, 'output', { stream: 'stdout', data: 'followed\n' });
  await waitFor('the followed event', () => seqs(c.messages, followed).length === 1, { timeoutMs: 5_000 });
  // The connection drops: the queue is new, and bound again to what is followed.
  const conns = ((await management('GET', `/vhosts/${encodeURIComponent(broker.vhost)}/connections`)) as Array<{ name: string; client_properties?: { connection_name?: string } }>).filter((x) =>
    x.client_properties?.connection_name?.startsWith(`gateway:${gw.bus.instanceId}`),
  );
  for (const conn of conns) await management('DELETE', `/connections/${encodeURIComponent(conn.name)}`);
  await waitFor('bound again after the reconnect', async () => ((await sessionKeys()).length === 2 ? true : undefined), { timeoutMs: 20_000 });
  expect(await sessionKeys()).toEqual([`session.event.batch.${followed}`, `session.event.${followed}`]);
}, 60_000);

test('local mode refuses web pages of other sites and DNS-rebound host names, over HTTP and Socket.IO', async () => {
  const sessionId = orch.addSession('local');
  const evil = await http(gw.url, 'POST', `/api/v1/sessions/${sessionId}/exec`, { body: { command: 'echo pwned' }, headers: { origin: 'https://evil.example' } });
  expect(evil.status).toBe(403);
  expect(evil.headers.get('content-type')).toContain('application/problem+json');
  expect(evil.body.detail).toContain('https://evil.example');
  // fetch sets Host itself: a raw request names the rebound host.
  const rebound = await new Promise<number>((resolve, reject) =>
    request({ host: '127.0.0.1', port: gw.port, path: `/api/v1/sessions/${sessionId}/files?path=.`, headers: { host: `evil.example:${gw.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end(),
  );
  expect(rebound).toBe(403);
  expect(orch.received.filter((r) => r.name === 'shell.exec' && (r.payload as { sessionId: string }).sessionId === sessionId)).toEqual([]);
  // A loopback page (a local web UI) is fine.
  expect((await http(gw.url, 'GET', `/api/v1/sessions/${sessionId}`, { headers: { origin: 'http://localhost:3000' } })).status).toBe(200);

  const socket = new TestClient(gw.url, { extraHeaders: { origin: 'https://evil.example' } });
  clients.push(socket);
  await expect(socket.connected()).rejects.toThrow();
});

test('a client that disconnects mid-stream and resubscribes with its last seq gets every byte exactly once, in order', async () => {
  const sessionId = orch.addSession('local');
  const first = client();
  await first.connected();
  const subId = first.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => first.reply(subId), { timeoutMs: 5_000 });
  const chunks = Array.from({ length: 400 }, (_, i) => `chunk-${i}-${'x'.repeat(i % 50)}|`);
  const producing = (async () => {
    for (const data of chunks) await orch.emit(sessionId, 'output', { stream: 'stdout', data });
  })();
  await waitFor('some output', () => seqs(first.messages, sessionId).length >= 50, { timeoutMs: 15_000 });
  first.close();
  const kept = first.messages.filter((m) => m.type === 'stream' && m.payload.sessionId === sessionId);
  const last = kept[kept.length - 1]!.payload.seq as number;

  const second = client();
  await second.connected();
  second.command('/subscribe', [], { sessionId, since: last });
  await producing;
  await waitFor('the rest', () => seqs(second.messages, sessionId).at(-1) === 400, { timeoutMs: 20_000 });
  const rest = second.messages.filter((m) => m.type === 'stream' && m.payload.sessionId === sessionId);
  const all = [...kept, ...rest];
  expect(all.map((m) => m.payload.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  expect(all.map((m) => m.payload.data).join('')).toBe(chunks.join(''));
});

test('a client that stops reading is cut off with a reason, without the gateway buffering without bound', async () => {
  const sessionId = orch.addSession('local');
  const drops = async () => ((await prom.register.getSingleMetric('gateway_socket_drops_total')?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);
  const dropsBefore = await drops();
  // A raw websocket speaking Engine.IO/Socket.IO framing, so the test controls whether it reads.
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  const full: string[] = [];
  let lastSeqSeen = 0;
  let seqBeforeError: number | undefined;
  ws.on('message', (d) => {
    const s = d.toString();
    frames.push(s.slice(0, 200));
    if (s.includes('"type":"error"')) {
      full.push(s);
      seqBeforeError ??= lastSeqSeen;
    }
    lastSeqSeen = Math.max(lastSeqSeen, Number(/"seq":(\d+)/.exec(s)?.[1] ?? 0));
    if (s === '2') ws.send('3'); // heartbeat
  });
  await new Promise((r) => ws.once('open', r));
  ws.send('40/v1,');
  await waitFor('namespace joined', () => frames.some((f) => f.startsWith('40/v1,')), { timeoutMs: 5_000 });
  ws.send(`42/v1,${JSON.stringify(['message', { id: 'sub-1', type: 'command', timestamp: new Date().toISOString(), payload: { command: '/subscribe', args: [], context: { sessionId, since: 0 } }, metadata: { version: '1' } }])}`);
  await waitFor('subscribed', () => frames.some((f) => f.includes('sub-1')), { timeoutMs: 5_000 });
  // Stop reading for good: ws would resume its socket on its own, so resume is disabled too.
  const raw = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  const resume = raw.resume.bind(raw);
  raw.pause();
  raw.resume = () => undefined;

  const mem = () => { const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers; };
  const base = mem();
  let peak = 0;
  const chunk = 'y'.repeat(64 * 1024);
  let sent = 0;
  // Past the bound it is served from the log at its pace; reading nothing for the drain timeout (1 s) gets it dropped.
  const until = Date.now() + 20_000;
  while ((await drops()) === dropsBefore && Date.now() < until) {
    await orch.emit(sessionId, 'output', { stream: 'stdout', data: chunk });
    sent++;
    peak = Math.max(peak, mem() - base);
  }
  try {
    expect(await drops()).toBe(dropsBefore + 1);
    // Reading again, it gets the reason ahead of the close: the error, and where to resume from.
    raw.resume = resume;
    raw.resume();
    const closed = new Promise((r) => ws.once('close', r));
    await waitFor('the reason', () => full.some((f) => f.includes('LIMIT_REACHED')), { timeoutMs: 5_000 });
    const [, error] = JSON.parse(full.find((f) => f.includes('LIMIT_REACHED'))!.slice('42/v1,'.length)) as [string, { type: string; payload: { code: string; message: string; details: { reason: string; sessionId: string; lastSeq: number } } }];
    expect(error.type).toBe('error');
    expect(error.payload).toMatchObject({ code: 'LIMIT_REACHED', details: { reason: 'slow_consumer', sessionId } });
    expect(error.payload.message).toMatch(/did not read for 1000 ms; reconnect and \/subscribe with since=\d+/);
    // lastSeq is the last event the client got before the reason: it resumes from there losing nothing.
    expect(error.payload.details.lastSeq).toBe(seqBeforeError);
    expect(error.payload.message).toContain(`since=${seqBeforeError}`);
    await closed;
    // The gateway let go of it: no listener left for the session, its buffer discarded.
    await waitFor('socket released', () => gw.hub.listenersOf(sessionId) === 0, { timeoutMs: 10_000 });
  } finally {
    ws.terminate();
  }
  // 1 MiB may wait in the gateway and 1 MiB more held (plus one batch in the transport and what the kernel holds); never the whole stream.
  expect(peak).toBeLessThan(150 * 1024 * 1024);
  // The dropped client resumes by sequence number.
  const again = client();
  await again.connected();
  again.command('/subscribe', [], { sessionId, since: sent - 5 });
  await waitFor('resumed', () => seqs(again.messages, sessionId).length === 5, { timeoutMs: 10_000 });
  expect(seqs(again.messages, sessionId)).toEqual([sent - 4, sent - 3, sent - 2, sent - 1, sent]);
}, 60_000);

test('after the bus reconnects, a subscription catches up from the log: events lost with the old queue arrive once, in order', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 5_000 });
  await orch.emit(sessionId, 'output', { commandId: 'c1', stream: 'stdout', data: 'live\n' });
  await waitFor('the live event', () => seqs(c.messages, sessionId).length === 1, { timeoutMs: 5_000 });
  // The gateway's connection drops (as in a broker restart, but for this connection only): its queue
  // goes with it. What the orchestrator publishes while it is gone never reaches the gateway live,
  // and no later live event reveals the gap: a command that finished during the outage.
  const ours = async () =>
    ((await management('GET', `/vhosts/${encodeURIComponent(broker.vhost)}/connections`)) as Array<{ name: string; client_properties?: { connection_name?: string } }>).filter((x) =>
      x.client_properties?.connection_name?.startsWith(`gateway:${gw.bus.instanceId}`),
    );
  const before = await waitFor('the gateway connection listed', async () => ((await ours()).length ? await ours() : undefined), { timeoutMs: 15_000 });
  for (const conn of before) await management('DELETE', `/connections/${encodeURIComponent(conn.name)}`);
  await orch.emit(sessionId, 'output', { commandId: 'c1', stream: 'stdout', data: 'during 1\n' }, { publish: false });
  await orch.emit(sessionId, 'output', { commandId: 'c1', stream: 'stderr', data: 'during 2\n' }, { publish: false });
  await orch.emit(sessionId, 'command.completed', { commandId: 'c1', command: 'x', exitCode: 7, durationMs: 1, timedOut: false }, { publish: false });
  await waitFor('the outage caught up', () => seqs(c.messages, sessionId).length === 4, { timeoutMs: 30_000 });
  expect(seqs(c.messages, sessionId)).toEqual([1, 2, 3, 4]);
  const done = c.messages.find((m) => m.type === 'status' && m.payload.kind === 'command.completed');
  expect(done?.payload.data).toMatchObject({ commandId: 'c1', exitCode: 7 });
  // Live again afterwards, still once each.
  await orch.emit(sessionId, 'output', { stream: 'stdout', data: 'after\n' });
  await waitFor('live after the reconnect', () => seqs(c.messages, sessionId).length === 5, { timeoutMs: 10_000 });
  expect(seqs(c.messages, sessionId)).toEqual([1, 2, 3, 4, 5]);
}, 60_000);

test('after the bus reconnects, what was published meanwhile and stored only later still arrives (the log is read again for a while)', async () => {
  const sessionId = orch.addSession('local');
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId, since: 0 });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 5_000 });
  await orch.emit(sessionId, 'output', { commandId: 'c1', stream: 'stdout', data: 'live\n' });
  await waitFor('the live event', () => seqs(c.messages, sessionId).length === 1, { timeoutMs: 5_000 });
  const ours = async () =>
    ((await management('GET', `/vhosts/${encodeURIComponent(broker.vhost)}/connections`)) as Array<{ name: string; client_properties?: { connection_name?: string } }>).filter((x) =>
      x.client_properties?.connection_name?.startsWith(`gateway:${gw.bus.instanceId}`),
    );
  const before = await waitFor('the gateway connection listed', async () => ((await ours()).length ? await ours() : undefined), { timeoutMs: 15_000 });
  // Storing trails: the command that finishes during the outage is not in the log when the gateway first looks.
  const release = orch.holdStorage(sessionId);
  const askedBefore = logReads(sessionId);
  for (const conn of before) await management('DELETE', `/connections/${encodeURIComponent(conn.name)}`);
  await orch.emit(sessionId, 'output', { commandId: 'c1', stream: 'stdout', data: 'during\n' }, { publish: false });
  await orch.emit(sessionId, 'command.completed', { commandId: 'c1', command: 'x', exitCode: 3, durationMs: 1, timedOut: false }, { publish: false });
  await waitFor('the catch-up after the reconnect', () => logReads(sessionId) > askedBefore, { timeoutMs: 30_000 });
  expect(seqs(c.messages, sessionId)).toEqual([1]);
  release();
  await waitFor('the outage caught up once stored', () => seqs(c.messages, sessionId).length === 3, { timeoutMs: 20_000 });
  expect(seqs(c.messages, sessionId)).toEqual([1, 2, 3]);
  expect(c.messages.find((m) => m.type === 'status' && m.payload.kind === 'command.completed')?.payload.data).toMatchObject({ exitCode: 3 });
}, 60_000);

test('/subscribe with binary: true gets output as bytes (a binary attachment), byte-exact whatever its encoding in the log', async () => {
  const sessionId = orch.addSession('local');
  await orch.emit(sessionId, 'output', { commandId: 'c', stream: 'stdout', data: 'h\u00e9llo \u2603\n' }, { publish: false });
  const c = client();
  await c.connected();
  const sub = c.command('/subscribe', [], { sessionId, since: 0 }, { binary: true });
  await waitFor('subscribed', () => c.reply(sub), { timeoutMs: 5_000 });
  await orch.emit(sessionId, 'output', { commandId: 'c', stream: 'stderr', data: Buffer.from([0, 255, 1, 128]).toString('base64'), encoding: 'base64' });
  await orch.emit(sessionId, 'command.completed', { commandId: 'c', command: 'x', exitCode: 0, durationMs: 1, timedOut: false });
  await waitFor('three events', () => seqs(c.messages, sessionId).length === 3, { timeoutMs: 10_000 });
  const streams = c.messages.filter((m) => m.type === 'stream' && m.payload.sessionId === sessionId);
  expect(streams.map((m) => Buffer.isBuffer(m.payload.data))).toEqual([true, true]);
  expect((streams[0]!.payload.data as Buffer).toString('utf8')).toBe('h\u00e9llo \u2603\n');
  expect([...(streams[1]!.payload.data as Buffer)]).toEqual([0, 255, 1, 128]);
  expect(streams.every((m) => m.payload.encoding === undefined)).toBe(true);
  // Other kinds are unchanged: a status message, as stored.
  expect(c.messages.find((m) => m.type === 'status' && m.payload.sessionId === sessionId)?.payload).toMatchObject({ kind: 'command.completed', seq: 3 });
});

test('output the bus brings as bytes (as the shell publishes it): text sockets get UTF-8 text or base64, binary ones the bytes as read', async () => {
  const sessionId = orch.addSession('local');
  const text = client();
  const bin = client();
  await Promise.all([text.connected(), bin.connected()]);
  const subs = [text.command('/subscribe', [], { sessionId, since: 0 }), bin.command('/subscribe', [], { sessionId, since: 0 }, { binary: true })];
  await waitFor('both subscribed', () => text.reply(subs[0]!) && bin.reply(subs[1]!), { timeoutMs: 5_000 });
  const utf8 = Buffer.from('h\u00e9llo \u2603\n');
  const notUtf8 = Buffer.from([0, 255, 1, 128]);
  // Live only (the fake's log answers over JSON): what the shell publishes, bytes beside the JSON.
  await orch.emit(sessionId, 'output', { commandId: 'c', stream: 'stdout', data: utf8 });
  await orch.emit(sessionId, 'output', { commandId: 'c', stream: 'stderr', data: notUtf8 });
  await waitFor('two events on each socket', () => seqs(text.messages, sessionId).length === 2 && seqs(bin.messages, sessionId).length === 2, { timeoutMs: 10_000 });
  const streamsOf = (c: TestClient) => c.messages.filter((m) => m.type === 'stream' && m.payload.sessionId === sessionId).map((m) => m.payload);
  expect(streamsOf(text).map((p) => [p.data, p.encoding])).toEqual([
    ['h\u00e9llo \u2603\n', undefined],
    [notUtf8.toString('base64'), 'base64'],
  ]);
  const binary = streamsOf(bin);
  expect(binary.map((p) => Buffer.isBuffer(p.data) && p.encoding === undefined)).toEqual([true, true]);
  expect((binary[0]!.data as Buffer).equals(utf8)).toBe(true);
  expect((binary[1]!.data as Buffer).equals(notUtf8)).toBe(true);
});

test('a malformed socket message gets an error naming the problem, and the socket goes on', async () => {
  const c = client();
  await c.connected();
  c.socket.emit('message', { id: 'bad-1', type: 'command', payload: { command: 'exec' } });
  const err = await waitFor('error', () => c.reply('bad-1'), { timeoutMs: 5_000 });
  expect(err.type).toBe('error');
  expect(err.payload.code).toBe('VALIDATION_FAILED');
  expect(err.payload.message).toMatch(/timestamp|command/);
  const id = c.command('/exec', ['echo ok'], {});
  const r = await waitFor('error 2', () => c.reply(id), { timeoutMs: 5_000 });
  expect(r.payload.message).toContain('context.sessionId');
});

test('/health asks every service over the bus and says which one does not answer', async () => {
  const res = await http(gw.url, 'GET', '/health');
  expect(res.status).toBe(503);
  expect(res.body.services.orchestrator.status).toBe('ok');
  expect(res.body.services.shell.status).toBe('down');
  expect(res.body.services.shell.error).toMatch(/shell/);
  expect(Object.keys(res.body.services).sort()).toEqual(['analytics', 'gateway', 'orchestrator', 'project-ci', 'shell', 'workspace']);
});
