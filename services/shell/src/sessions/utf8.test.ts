import { completeUtf8Length, Utf8Chunker } from './utf8';

describe('terminal output cut on UTF-8 character boundaries', () => {
  test('leaves out the first bytes of a character that has not ended, and only those', () => {
    const e = Buffer.from('a€'); // € is 3 bytes
    expect(completeUtf8Length(e)).toBe(4);
    expect(completeUtf8Length(e.subarray(0, 3))).toBe(1);
    expect(completeUtf8Length(e.subarray(0, 2))).toBe(1);
    const smile = Buffer.from('😀'); // 4 bytes
    for (let n = 1; n < 4; n++) expect(completeUtf8Length(smile.subarray(0, n))).toBe(0);
    expect(completeUtf8Length(Buffer.from([0xff, 0xfe]))).toBe(2); // not UTF-8: whole
    expect(completeUtf8Length(Buffer.alloc(0))).toBe(0);
  });

  test('every chunk is UTF-8 on its own and the bytes come out whole and in order, however the reads fell', () => {
    const text = Buffer.from('ascii, é, €, 😀, 日本語 and a box ┌─┐ '.repeat(20));
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const chunker = new Utf8Chunker();
      const out: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) {
        const c = chunker.push(text.subarray(i, i + size));
        if (c.length) out.push(c);
      }
      const rest = chunker.end();
      if (rest) out.push(rest);
      expect(Buffer.concat(out).equals(text)).toBe(true);
      for (const c of out) expect(Buffer.from(c.toString('utf8')).equals(c)).toBe(true);
    }
  });

  test('what is held back at the end goes out as it is', () => {
    const chunker = new Utf8Chunker();
    expect(chunker.push(Buffer.from([0x61, 0xe2, 0x82]))).toEqual(Buffer.from('a'));
    expect(chunker.end()).toEqual(Buffer.from([0xe2, 0x82]));
    expect(chunker.end()).toBeUndefined();
  });
});
