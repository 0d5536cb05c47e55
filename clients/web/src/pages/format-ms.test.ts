import { formatMs } from './format-ms';

test('durations read as ms under a second, seconds above, a dash for nothing measured', () => {
  expect(formatMs(null)).toBe('–');
  expect(formatMs(0)).toBe('0 ms');
  expect(formatMs(12.4)).toBe('12 ms');
  expect(formatMs(999.4)).toBe('999 ms');
  // Never "1000 ms": what would round to a second is shown in seconds.
  expect(formatMs(999.6)).toBe('1.00 s');
  expect(formatMs(1994)).toBe('1.99 s');
  expect(formatMs(9994)).toBe('9.99 s');
  expect(formatMs(9996)).toBe('10.0 s');
  expect(formatMs(125_000)).toBe('125.0 s');
});
