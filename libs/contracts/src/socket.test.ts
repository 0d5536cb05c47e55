import { AppError } from './errors';
import { SessionEventV1 } from './messages/session';
import { bytesToBase64, ClientMessageV1, eventToServerMessage, serverMessageToEvent, ServerMessageV1, SocketResponsesV1 } from './socket';

const envelope = (payload: unknown) => ({ id: 'c1', type: 'command', timestamp: new Date().toISOString(), payload, metadata: { version: '1' } });
const META = { version: '1', client: 'test' };

describe('the Socket.IO protocol (client side)', () => {
  test('each command is typed by its name: /exec takes the line, /resize coerces its numbers', () => {
    const exec = ClientMessageV1.parse(envelope({ command: '/exec', args: ['ls'], context: { sessionId: 's' }, timeoutMs: 5 }));
    expect(exec.payload).toEqual({ command: '/exec', args: ['ls'], context: { sessionId: 's' }, timeoutMs: 5 });
    const resize = ClientMessageV1.parse(envelope({ command: '/resize', args: ['80', 24], context: { sessionId: 's' } }));
    expect(resize.payload.args).toEqual([80, 24]);
    const sub = ClientMessageV1.parse(envelope({ command: '/subscribe', context: { sessionId: 's', since: 3 } }));
    expect(sub.payload).toMatchObject({ command: '/subscribe', args: [], context: { since: 3 } });
    expect(ClientMessageV1.parse(envelope({ command: '/review', args: ['look', 'here'], context: { sessionId: 's' } })).payload.command).toBe('/review');
  });

  test('what is wrong is named by its path: a missing sessionId, a missing line, an unknown command', () => {
    const why = (payload: unknown) => {
      const r = ClientMessageV1.safeParse(envelope(payload));
      if (r.success) throw new Error('expected a failure');
      return AppError.validation(r.error, 'command message').message;
    };
    expect(why({ command: '/exec', args: ['ls'] })).toContain('payload.context');
    expect(why({ command: '/exec', args: ['ls'], context: {} })).toContain('payload.context.sessionId');
    expect(why({ command: '/exec', args: [], context: { sessionId: 's' } })).toContain('payload.args');
    expect(why({ command: '/resize', args: [0, 2000], context: { sessionId: 's' } })).toContain('from 1 to 1000');
    expect(why({ command: '/nope', context: { sessionId: 's' } })).toContain('unknown command');
  });
});

describe('the Socket.IO protocol (server side)', () => {
  const at = new Date().toISOString();

  test('output is a stream message and back the same event; other kinds are status messages as stored', () => {
    const out = SessionEventV1.parse({ sessionId: 's', seq: 4, kind: 'output', data: { commandId: 'c', stream: 'stdout', data: 'aGk=', encoding: 'base64' }, at });
    const m = ServerMessageV1.parse(eventToServerMessage(out, META));
    expect(m.type).toBe('stream');
    expect(m.payload).toEqual({ sessionId: 's', seq: 4, stream: 'stdout', data: 'aGk=', commandId: 'c', encoding: 'base64' });
    if (m.type !== 'stream') throw new Error('stream expected');
    expect(serverMessageToEvent(m)).toEqual({ ...out, at: m.timestamp });

    const done = SessionEventV1.parse({ sessionId: 's', seq: 5, kind: 'command.completed', data: { commandId: 'c', command: 'x', exitCode: 2, durationMs: 3, timedOut: false }, at });
    const s = ServerMessageV1.parse(eventToServerMessage(done, META));
    expect(s).toMatchObject({ type: 'status', payload: done });
    if (s.type !== 'status') throw new Error('status expected');
    expect(serverMessageToEvent(s)).toEqual(done);
  });

  test('binary output: bytes in the stream message, back to the base64 the log keeps', () => {
    const out = SessionEventV1.parse({ sessionId: 's', seq: 4, kind: 'output', data: { stream: 'stdout', data: 'aé' }, at });
    const m = ServerMessageV1.parse(eventToServerMessage(out, META, { toBytes: (d) => Buffer.from(d.data as string, d.encoding ?? 'utf8') }));
    if (m.type !== 'stream') throw new Error('stream expected');
    expect(Buffer.isBuffer(m.payload.data)).toBe(true);
    expect(m.payload.encoding).toBeUndefined();
    expect(serverMessageToEvent(m).data).toEqual({ stream: 'stdout', data: Buffer.from('aé').toString('base64'), encoding: 'base64' });
    const big = Buffer.alloc(100_000, 7);
    expect(bytesToBase64(big)).toBe(big.toString('base64'));
    expect(bytesToBase64(big.buffer.slice(big.byteOffset, big.byteOffset + big.length) as ArrayBuffer)).toBe(big.toString('base64'));
  });

  test('the event union checks each kind’s data and keeps fields it does not know', () => {
    expect(SessionEventV1.safeParse({ sessionId: 's', seq: 1, kind: 'output', data: { data: 'x' }, at }).success).toBe(false);
    expect(SessionEventV1.safeParse({ sessionId: 's', seq: 1, kind: 'no-such-kind', data: {}, at }).success).toBe(false);
    const st = SessionEventV1.parse({ sessionId: 's', seq: 1, kind: 'status', data: { from: null, to: 'creating', extra: 1 }, at });
    expect(st.data).toEqual({ from: null, to: 'creating', extra: 1 });
    const agent = SessionEventV1.parse({ sessionId: 's', seq: 2, kind: 'agent', data: { type: 'text', runId: 'r', role: 'coding', step: 0, delta: 'hi' }, at });
    if (agent.kind !== 'agent' || agent.data.type !== 'text') throw new Error('agent text expected');
    expect(agent.data.delta).toBe('hi');
    expect(SessionEventV1.parse({ sessionId: 's', seq: 9, kind: 'pruned', data: { from: 1, to: 9, reason: 'retention' }, at }).kind).toBe('pruned');
  });

  test('each command has its response schema; the /exec response carries no output', () => {
    expect(SocketResponsesV1['/exec'].parse({ commandId: 'c', sessionId: 's', exitCode: 0, durationMs: 1, timedOut: false, stdout: 'dropped' })).not.toHaveProperty('stdout');
    expect(SocketResponsesV1['/unsubscribe'].parse({ unsubscribed: 's', lastSeq: null }).lastSeq).toBeNull();
    expect(ServerMessageV1.safeParse({ ...envelope({ code: 'NOT_FOUND', message: 'gone' }), type: 'error' }).success).toBe(true);
  });
});
