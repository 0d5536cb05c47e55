import { LineSplitter } from './line-splitter';

const lines = (frames: ReturnType<LineSplitter['push']>) => frames.map((f) => (f.kind === 'line' ? f.line : `<too long ${f.limit}>`));

test('a line cut anywhere by TCP comes out whole, multi-byte characters included', () => {
  const text = JSON.stringify({ content: 'héllo wörld ✓ '.repeat(1000) }) + '\n';
  const bytes = Buffer.from(text);
  const s = new LineSplitter(1 << 20);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 7) out.push(...lines(s.push(bytes.subarray(i, i + 7))));
  expect(out).toEqual([text.trimEnd()]);
  expect(s.pending).toBe(0);
});

test('several lines in one chunk, CRLF and blank lines', () => {
  const s = new LineSplitter(100);
  expect(lines(s.push(Buffer.from('{"a":1}\r\n\n{"b":2}\n{"c"')))).toEqual(['{"a":1}', '{"b":2}']);
  expect(lines(s.push(Buffer.from(':3}\n')))).toEqual(['{"c":3}']);
});

test('a line over the limit is reported once, dropped to its newline, and the next line works', () => {
  const s = new LineSplitter(10);
  expect(lines(s.push(Buffer.from('0123456789ABC')))).toEqual(['<too long 10>']);
  expect(lines(s.push(Buffer.from('more of the same line')))).toEqual([]);
  expect(lines(s.push(Buffer.from('end\n{"ok":1}\n')))).toEqual(['{"ok":1}']);
  expect(lines(s.push(Buffer.from('x'.repeat(11) + '\n')))).toEqual(['<too long 10>']);
  expect(lines(s.push(Buffer.from('short\n')))).toEqual(['short']);
});
