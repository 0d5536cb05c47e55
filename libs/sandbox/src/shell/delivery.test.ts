import type { OutputChunk } from '../types';
import { Delivery } from './delivery';

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('Delivery', () => {
  it('delivers synchronously, in order, when onOutput is synchronous', () => {
    const got: OutputChunk[] = [];
    const d = new Delivery((c) => void got.push(c), { pause: jest.fn(), resume: jest.fn() });
    d.push('stdout', Buffer.from('a'));
    d.push('stderr', Buffer.from('b'));
    expect(got.map((c) => [c.stream, c.data.toString(), c.seq])).toEqual([['stdout', 'a', 0], ['stderr', 'b', 1]]);
  });

  it('merges reads that arrive while a slow consumer is busy, per stream run, keeping order', async () => {
    const got: string[] = [];
    const first = gate();
    let calls = 0;
    const d = new Delivery(
      async (c) => {
        got.push(`${c.seq}:${c.stream}:${c.data.toString()}`);
        if (calls++ === 0) await first.p;
      },
      { pause: jest.fn(), resume: jest.fn() },
    );
    d.push('stdout', Buffer.from('1'));
    d.push('stdout', Buffer.from('2'));
    d.push('stdout', Buffer.from('3'));
    d.push('stderr', Buffer.from('e'));
    d.push('stdout', Buffer.from('4'));
    first.open();
    await d.drained();
    expect(got).toEqual(['0:stdout:1', '1:stdout:23', '2:stderr:e', '3:stdout:4']);
  });

  it('pauses the pipes past the high-water mark and resumes once drained', async () => {
    const flow = { pause: jest.fn(), resume: jest.fn() };
    const first = gate();
    let calls = 0;
    const d = new Delivery(async () => {
      if (calls++ === 0) await first.p;
    }, flow);
    d.push('stdout', Buffer.alloc(10));
    d.push('stdout', Buffer.alloc(2 << 20));
    expect(flow.pause).toHaveBeenCalledTimes(1);
    expect(flow.resume).not.toHaveBeenCalled();
    first.open();
    await d.drained();
    expect(flow.resume).toHaveBeenCalledTimes(1);
  });

  it('reports the consumer\'s error at the end and never wedges the pipes', async () => {
    const flow = { pause: jest.fn(), resume: jest.fn() };
    const d = new Delivery(async () => {
      throw new Error('socket gone');
    }, flow);
    d.push('stdout', Buffer.alloc(3 << 20));
    d.push('stdout', Buffer.from('more'));
    await expect(d.drained()).rejects.toThrow('socket gone');
    expect(flow.pause.mock.calls.length).toBe(flow.resume.mock.calls.length);
  });
});
