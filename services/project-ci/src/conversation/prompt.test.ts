import { buildMessages, stripProjectPrefix, withProjectPrefix } from './prompt';
import type { HistoryEntry } from './types';

const e = (role: 'user' | 'assistant', content: string): HistoryEntry => ({ role, content, via: 'socket', at: '2026-01-01T00:00:00Z' });
const build = (history: HistoryEntry[], budgetChars: number) =>
  buildMessages({ name: 'P', ciSocket: 'project-p-ai', history, message: 'now', budgetChars }).map((m) => `${m.role}:${m.content}`);

test('the prefix is added once, and a client-sent prefix is not doubled', () => {
  expect(withProjectPrefix('Claude-Code', 'hi')).toBe('[Project: Claude-Code] hi');
  expect(stripProjectPrefix('Claude-Code', '[Project: claude-code] hi')).toBe('hi');
  expect(stripProjectPrefix('Claude-Code', '[Project: Other] hi')).toBe('[Project: Other] hi');
});

const history = [e('user', 'old question'), e('assistant', 'a'.repeat(500)), e('user', 'q2'), e('assistant', 'answer 2')];

test('the whole history goes with the new message when it fits', () => {
  const all = build(history, 10_000);
  expect(all.slice(1)).toEqual(['user:[Project: P] old question', `assistant:${'a'.repeat(500)}`, 'user:[Project: P] q2', 'assistant:answer 2', 'user:[Project: P] now']);
  expect(all[0]).toMatch(/^system:You are project-p-ai, the companion intelligence of the project "P"/);
});

test('turns that do not fit are dropped from the oldest; the newest that does not fit whole is kept cut, question first', () => {
  const some = build(history, 300);
  expect(some.slice(1, 3)).toEqual(['user:[Project: P] old question', expect.stringMatching(/^assistant:\n\[\.\.\. earlier text cut to fit the context \.\.\.\]\na+$/)]);
  expect(some.slice(3)).toEqual(['user:[Project: P] q2', 'assistant:answer 2', 'user:[Project: P] now']);
  expect(some.slice(1, -1).join('').length).toBeLessThanOrEqual(300 + 40);

  const huge = build([e('user', 'long please'), e('assistant', 'b'.repeat(100_000) + 'END')], 1_000);
  expect(huge[1]).toBe('user:[Project: P] long please');
  expect(huge[2]).toMatch(/b+END$/);
  expect(huge[2]!.length).toBeLessThanOrEqual(1_000 + 'assistant:'.length);

  expect(build(history, 0)).toHaveLength(2);
});

test('a history that starts with an answer (its question was trimmed) never opens the context with it', () => {
  expect(build([e('assistant', 'orphan'), e('user', 'q'), e('assistant', 'a')], 10_000).slice(1)).toEqual(['user:[Project: P] q', 'assistant:a', 'user:[Project: P] now']);
});
