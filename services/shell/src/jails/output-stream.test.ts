import { deferred, testLogger, waitFor } from '@codeagent/testing';
import { FakeSink } from '../../test/fakes';
import { incompleteUtf8Tail, OutputStream } from './output-stream';

const log = testLogger();

function decode(events: { data: string; encoding?: string }[]): Buffer {
  return Buffer.concat(events.map((e) => Buffer.from(e.data, e.encoding === 'base64' ? 'base64' : 'utf8')));
}

describe('OutputStream', () => {
  test('seq is gapless and in order from firstSeq, and queued output is coalesced while the broker confirms', async () => {
    const sink = new FakeSink();
    let open = deferred();
    sink.gate = () => open.promise;
    const s = new OutputStream('s1', sink, { maxChunkBytes: 10_000, highWaterBytes: 1 << 30 }, log, 7);
    const expected: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const line = `line ${i}\n`;
      expected.push(line);
      void s.output('c1', 'stdout', Buffer.from(line));
    }
    open.resolve();
    sink.gate = undefined;
    await s.flush();
    const out = sink.output();
    expect(out.map((e) => e.seq)).toEqual(out.map((_, i) => 7 + i));
    expect(s.lastSeq).toBe(6 + out.length);
    expect(out.length).toBeLessThan(20);
    expect(decode(out).toString()).toBe(expected.join(''));
    expect(out.every((e) => e.commandId === 'c1' && e.stream === 'stdout')).toBe(true);
    open = deferred();
  });

  test('appended events take the next seq and their place in the order; facts take none', async () => {
    const sink = new FakeSink();
    const s = new OutputStream('s1', sink, { maxChunkBytes: 4, highWaterBytes: 1 << 20 }, log);
    const started = s.append('command.started', { commandId: 'c', command: 'x' });
    void s.output('c', 'stdout', Buffer.from('abcdefgh'));
    void s.output('c', 'stderr', Buffer.from('E'));
    const completed = s.append('command.completed', { commandId: 'c', command: 'x', exitCode: 0, durationMs: 1, timedOut: false });
    const fact = s.event('shell.command.completed', (seq) => ({ sessionId: 's1', commandId: 'c', command: 'x', exitCode: 0, durationMs: 1, timedOut: false, seq }));
    expect(await Promise.all([started, completed, fact])).toEqual([1, 4, undefined]);
    expect(sink.events.map((e) => e.name)).toEqual(['session.event', 'session.event', 'session.event', 'session.event', 'shell.command.completed']);
    expect(sink.logged().map((e) => [e.seq, e.kind])).toEqual([
      [1, 'command.started'],
      [2, 'output'],
      [3, 'output'],
      [4, 'command.completed'],
    ]);
    // The fact names the seq of the log event before it.
    expect(sink.of('shell.command.completed')[0]!.seq).toBe(4);
    expect(sink.output().map((e) => e.stream)).toEqual(['stdout', 'stderr']);
    expect(s.lastSeq).toBe(4);
  });

  test('log events queued together leave as one message in seq order, up to maxChunkBytes; a fact and terminal output leave alone', async () => {
    const sink = new FakeSink();
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1000, highWaterBytes: 1 << 20 }, log);
    const started = s.append('command.started', { commandId: 'c', command: 'x' });
    const busy = s.append('status', { from: 'ready', to: 'busy' });
    void s.output('c', 'stdout', Buffer.from('x'.repeat(500)));
    void s.output('c', 'stderr', Buffer.from('y'.repeat(500)));
    void s.output(undefined, 'pty', Buffer.from('$ '));
    const fact = s.event('shell.command.completed', (seq) => ({ sessionId: 's1', commandId: 'c', command: 'x', exitCode: 0, durationMs: 1, timedOut: false, seq }));
    const idle = s.append('status', { from: 'busy', to: 'idle' });
    expect(await Promise.all([started, busy, fact, idle])).toEqual([1, 2, undefined, 6]);
    // 200 + 200 + 500 bytes fit one batch; the stderr chunk would pass 1000, so it starts the next one.
    expect(sink.messages()).toEqual(['[command.started status output]', 'output', 'output', 'shell.command.completed', 'status']);
    expect(sink.logged().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sink.of('session.event.batch')[0]).toMatchObject({ sessionId: 's1' });
  });

  test("held events wait for the release and then leave as one message; the hold's own time ends it too", async () => {
    const sink = new FakeSink();
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1000, highWaterBytes: 1 << 20 }, log);
    s.hold(60_000);
    void s.append('command.started', { commandId: 'c', command: 'x' });
    void s.output('c', 'stdout', Buffer.from('ok\n'));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(sink.begun).toEqual([]);
    void s.append('command.completed', { commandId: 'c', command: 'x', exitCode: 0, durationMs: 1, timedOut: false });
    s.release();
    await s.flush();
    expect(sink.messages()).toEqual(['[command.started output command.completed]']);

    // Nobody releases this one: it leaves when its 20 ms are up.
    s.hold(20);
    void s.append('command.started', { commandId: 'd', command: 'y' });
    await waitFor('the held start to leave on its own', () => sink.events.length === 2);
    expect(sink.logged().map((e) => [e.seq, e.kind])).toEqual([
      [1, 'command.started'],
      [2, 'output'],
      [3, 'command.completed'],
      [4, 'command.started'],
    ]);
  });

  test('a hold ends early when output reaches maxChunkBytes and when someone waits on the stream', async () => {
    const sink = new FakeSink();
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1000, highWaterBytes: 1 << 20 }, log);
    s.hold(60_000);
    void s.append('command.started', { commandId: 'c', command: 'x' });
    void s.output('c', 'stdout', Buffer.from('x'.repeat(1000)));
    await waitFor('a full chunk to leave despite the hold', () => sink.events.length === 2);
    expect(sink.messages()).toEqual(['command.started', 'output']);

    s.hold(60_000);
    void s.append('command.completed', { commandId: 'c', command: 'x', exitCode: 0, durationMs: 1, timedOut: false });
    await s.sent();
    expect(sink.begun).toHaveLength(3);
    s.hold(60_000);
    void s.append('note', { message: 'flushed' });
    await s.flush();
    expect(sink.logged().map((e) => e.kind)).toEqual(['command.started', 'output', 'command.completed', 'note']);
  });

  test('a failed batch is republished whole and each of its events settles once it is taken', async () => {
    const sink = new FakeSink();
    sink.failNext = 1;
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1 << 20, highWaterBytes: 1 << 20 }, log);
    const seqs = Promise.all([s.append('note', { message: 'a' }), s.append('note', { message: 'b' }), s.append('note', { message: 'c' })]);
    expect(await seqs).toEqual([1, 2, 3]);
    expect(sink.messages()).toEqual(['[note note note]']);
  });

  test('several publishes wait for their confirms at once (the window), still in seq order', async () => {
    const sink = new FakeSink();
    const gates: Array<() => void> = [];
    let waiting = 0;
    sink.gate = () => {
      waiting += 1;
      return new Promise<void>((r) => gates.push(r));
    };
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1, highWaterBytes: 1 << 20, maxInFlight: 4 }, log);
    for (const c of 'abcdef') void s.output('c', 'stdout', Buffer.from(c));
    // Four are sent before the first confirm: the confirm round trip no longer serialises the stream.
    await waitFor('four publishes in flight', () => waiting === 4);
    gates.splice(0).forEach((g) => g());
    sink.gate = undefined;
    await s.flush();
    expect(sink.output().map((e) => [e.seq, e.data])).toEqual([...'abcdef'].map((c, i) => [i + 1, c]));
  });

  test('a failure in the window: what follows is held, the failed ones are republished in order', async () => {
    const sink = new FakeSink();
    // The broker drops a channel's unconfirmed messages together: all five in the window fail.
    sink.failNext = 5;
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1, highWaterBytes: 1 << 20, maxInFlight: 8 }, log);
    const started = s.append('command.started', { commandId: 'c', command: 'x' });
    for (const c of 'wxyz') void s.output('c', 'stdout', Buffer.from(c));
    await started;
    await s.flush();
    expect(sink.logged().map((e) => e.kind)).toEqual(['command.started', 'output', 'output', 'output', 'output']);
    expect(sink.output().map((e) => [e.seq, e.data])).toEqual([...'wxyz'].map((c, i) => [i + 2, c]));
  });

  test('a failed publish is retried, never skipped: no gap, no duplicate', async () => {
    const sink = new FakeSink();
    sink.failNext = 2;
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1, highWaterBytes: 1 << 20 }, log);
    void s.output('c', 'stdout', Buffer.from('a'));
    void s.output('c', 'stderr', Buffer.from('b'));
    await s.flush();
    expect(sink.output().map((e) => [e.seq, e.data])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  test('past the high-water mark the producer is told to wait until the queue drains', async () => {
    const sink = new FakeSink();
    const gate = deferred();
    sink.gate = () => gate.promise;
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1024, highWaterBytes: 4096 }, log);
    expect(s.output('c', 'stdout', Buffer.alloc(1000, 97))).toBeUndefined();
    const wait = s.output('c', 'stdout', Buffer.alloc(5000, 98));
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void wait!.then(() => (released = true));
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(false);
    gate.resolve();
    await wait;
    await s.flush();
    expect(decode(sink.output()).length).toBe(6000);
  });

  test('a character split between chunks stays UTF-8 text', async () => {
    const sink = new FakeSink();
    const gate = deferred();
    sink.gate = () => gate.promise;
    const s = new OutputStream('s1', sink, { maxChunkBytes: 4, highWaterBytes: 1 << 20 }, log);
    const text = Buffer.from('ab€cd€€');
    void s.output('c', 'stdout', Buffer.from('x'));
    for (let i = 0; i < text.length; i += 3) void s.output('c', 'stdout', text.subarray(i, i + 3));
    gate.resolve();
    await s.flush();
    const out = sink.output();
    expect(out.every((e) => e.encoding === undefined)).toBe(true);
    expect(out.map((e) => e.data).join('')).toBe('xab€cd€€');
    expect(incompleteUtf8Tail(Buffer.from('€').subarray(0, 2))).toBe(2);
    expect(incompleteUtf8Tail(Buffer.from('a€'))).toBe(0);
  });

  test("each stream's events end on a character boundary however its reads fell; the held bytes go at the command's end", async () => {
    const sink = new FakeSink();
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1 << 20, highWaterBytes: 1 << 30 }, log);
    const text = Buffer.from('ascii, é, €, 😀, 日本語 and a box ┌─┐ '.repeat(20));
    // Each read published before the next arrives: nothing queued to join.
    for (const size of [1, 2, 3, 5, 7, 64]) {
      for (let i = 0; i < text.length; i += size) {
        void s.output(`c${size}`, 'stdout', text.subarray(i, i + size));
        await s.sent();
      }
    }
    for (const size of [1, 2, 3, 5, 7, 64]) s.endOutput(`c${size}`);
    const out = sink.output();
    expect(out.filter((e) => e.encoding === 'base64')).toEqual([]);
    for (const size of [1, 2, 3, 5, 7, 64]) expect(decode(out.filter((e) => e.commandId === `c${size}`)).equals(text)).toBe(true);
    // A command that ends in the middle of a character: its last bytes go as they are, before what follows.
    void s.output('cut', 'stdout', Buffer.from('a€').subarray(0, 3));
    void s.output(undefined, 'pty', Buffer.from('€').subarray(0, 1));
    s.endOutput('cut');
    await s.sent();
    expect(decode(sink.output().filter((e) => e.commandId === 'cut'))).toEqual(Buffer.from('a€').subarray(0, 3));
    // The terminal's held byte waits for more, or for the flush of a hand-over.
    expect(sink.output().filter((e) => e.stream === 'pty')).toEqual([]);
    await s.flush();
    expect(sink.output().filter((e) => e.stream === 'pty').map((e) => e.data)).toEqual([Buffer.from([0xe2]).toString('base64')]);
  });

  test('terminal output is coalesced like command output: a keystroke echo waits behind one event, not thousands', async () => {
    const sink = new FakeSink();
    const gate = deferred();
    sink.gate = () => gate.promise;
    // The default window (8 publishes awaiting confirms): terminal chunks still go one at a time.
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1 << 20, highWaterBytes: 1 << 30 }, log);
    // A program flooding the terminal with tiny reads while the first publish awaits its confirm...
    for (let i = 0; i < 5000; i++) void s.output(undefined, 'pty', Buffer.from(`${i % 10}`));
    // ...then the echo of a keystroke: it joins the queued chunk instead of queuing behind 5000 events.
    void s.output(undefined, 'pty', Buffer.from('$ ls'));
    gate.resolve();
    await s.flush();
    const out = sink.output();
    expect(out.length).toBeLessThanOrEqual(2);
    expect(out.map((e) => e.data).join('')).toBe(Array.from({ length: 5000 }, (_, i) => `${i % 10}`).join('') + '$ ls');
    expect(out.every((e) => e.stream === 'pty' && e.commandId === undefined)).toBe(true);
  });

  test('binary output goes out as base64', async () => {
    const sink = new FakeSink();
    const s = new OutputStream('s1', sink, { maxChunkBytes: 1024, highWaterBytes: 1 << 20 }, log);
    void s.output(undefined, 'pty', Buffer.from([0xff, 0x00, 0xfe]));
    await s.flush();
    expect(sink.output()[0]).toMatchObject({ encoding: 'base64', data: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), stream: 'pty' });
    expect(sink.output()[0]!.commandId).toBeUndefined();
  });
});
