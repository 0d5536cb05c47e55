import { sniff } from './sniff';

describe("sniff: what a tunnel's first bytes say", () => {
  it.each([
    ['a request line', 'GET / HTTP/1.1\r\nHost: denied.test\r\n\r\n'],
    // Servers skip empty lines before the request line: a relay must not get a request past the check with one.
    ['a request behind a leading CRLF', '\r\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n'],
    ['a request behind a leading LF', '\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n'],
    // Lenient servers take lower-case methods: so does the check.
    ['a lower-case request line', 'get / http/1.1\r\nhost: denied.test\r\n\r\n'],
  ])('%s is plain HTTP', (_label, text) => {
    expect(sniff(Buffer.from(text, 'latin1'))).toEqual({ kind: 'http' });
  });

  it('a line still coming waits for its end (a lone CRLF too: a request may follow)', () => {
    expect(sniff(Buffer.from('GE'))).toEqual({ kind: 'need-more' });
    expect(sniff(Buffer.from('GET / HT'))).toEqual({ kind: 'need-more' });
    expect(sniff(Buffer.from('\r\n'))).toEqual({ kind: 'need-more' });
  });

  it('other client-first text protocols and binary ones pass as other', () => {
    expect(sniff(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toEqual({ kind: 'other' });
    expect(sniff(Buffer.from('EHLO client.example\r\n'))).toEqual({ kind: 'other' });
    expect(sniff(Buffer.from([0x00, 0x01, 0xff, 0x10]))).toEqual({ kind: 'other' });
  });
});
