import { SessionEventBatchV1 } from './session';

const note = (sessionId: string, seq: number) => ({ sessionId, seq, kind: 'note', data: { message: `n${seq}` }, at: new Date().toISOString() });

describe('session.event.batch (consecutive events of one session log)', () => {
  test("takes consecutive events of the batch's session", () => {
    expect(SessionEventBatchV1.parse({ sessionId: 's', events: [note('s', 4), note('s', 5), note('s', 6)] }).events.map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  test("refuses a gap, a repeat, another session's event and an empty batch, saying which", () => {
    const why = (b: unknown) => {
      const r = SessionEventBatchV1.safeParse(b);
      if (r.success) throw new Error('expected a failure');
      return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(why({ sessionId: 's', events: [note('s', 1), note('s', 3)] })).toContain("events: every event is the batch's session's, in consecutive seqs");
    expect(why({ sessionId: 's', events: [note('s', 2), note('s', 2)] })).toContain('consecutive seqs');
    expect(why({ sessionId: 's', events: [note('s', 1), note('t', 2)] })).toContain("the batch's session's");
    expect(why({ sessionId: 's', events: [] })).toContain('events');
  });
});
