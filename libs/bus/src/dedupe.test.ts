import { RecentIds } from './dedupe';

test('remembers at least the last half of its capacity, and forgets what is older than its capacity', () => {
  const ids = new RecentIds(100);
  for (let i = 0; i < 1_000; i++) ids.add(`m${i}`);
  // The last 50 are always there; anything 100 or more back is gone.
  for (let i = 950; i < 1_000; i++) expect(ids.has(`m${i}`)).toBe(true);
  for (let i = 0; i < 900; i++) expect(ids.has(`m${i}`)).toBe(false);
  expect(ids.has('never')).toBe(false);
});
