import { isBinary } from './binary';

describe('isBinary', () => {
  it('text, including multi-byte UTF-8 cut at the sample edge, is text', () => {
    expect(isBinary(Buffer.from('hello\n'))).toBe(false);
    expect(isBinary(Buffer.from('é'.repeat(5000)))).toBe(false);
  });
  it('NUL bytes or invalid UTF-8 make it binary', () => {
    expect(isBinary(Buffer.from([104, 0, 105]))).toBe(true);
    expect(isBinary(Buffer.from([0xff, 0xfe, 0x41]))).toBe(true);
  });
});
