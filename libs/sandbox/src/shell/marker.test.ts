import { MarkerScanner, partialSuffix } from './marker';

const M = Buffer.from('\x1eCA:abc123:');

function run(chunks: string[]): { out: string; done: boolean; tail?: string } {
  const s = new MarkerScanner(M);
  let out = '';
  for (const c of chunks) {
    const r = s.push(Buffer.from(c));
    out += r.data.toString();
    if (r.done) return { out, done: true, tail: r.tail };
  }
  return { out: out + s.flush().toString(), done: false };
}

describe('MarkerScanner', () => {
  it('finds a sentinel in one read and returns the exit status', () => {
    expect(run(['hello\x1eCA:abc123:0\n'])).toEqual({ out: 'hello', done: true, tail: '0' });
  });

  it('finds a sentinel split anywhere across reads', () => {
    const whole = 'out put\x1eCA:abc123:17\n';
    for (let i = 1; i < whole.length; i++) {
      for (let j = i + 1; j < whole.length; j++) {
        expect(run([whole.slice(0, i), whole.slice(i, j), whole.slice(j)])).toEqual({ out: 'out put', done: true, tail: '17' });
      }
    }
  });

  it('does not end on a sentinel with another nonce and releases its bytes', () => {
    expect(run(['x\x1eCA:abc12', '4:0\n', 'more'])).toEqual({ out: 'x\x1eCA:abc124:0\nmore', done: false });
  });

  it('keeps output without a final newline', () => {
    expect(run(['no newline', '\x1eCA:abc123:1\n'])).toEqual({ out: 'no newline', done: true, tail: '1' });
  });

  it('holds back only a possible marker prefix', () => {
    expect(partialSuffix(Buffer.from('abc\x1eCA'), M)).toBe(3);
    expect(partialSuffix(Buffer.from('abc'), M)).toBe(0);
  });
});
