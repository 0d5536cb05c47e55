import { sniff } from './sniff';

describe("sniff: what a tunnel's first bytes say", () => {
  it.each([
    ['a request line', 'GET / HTTP/1.1\r\nHost: denied.test\r\n\r\n'],
    // Servers skip empty lines before the request line: a relay must not get a request past the check with one.
    ['a request behind a leading CRLF', '\r\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n'],
    ['a request behind a leading LF', '\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n'],
    ['a lone CRLF (what comes next is a request)', '\r\n'],
  ])('%s is plain HTTP', (_label, text) => {
    expect(sniff(Buffer.from(text, 'latin1'))).toEqual({ kind: 'http' });
  });

  it('a short upper-case word waits for more; other protocols pass as other', () => {
    expect(sniff(Buffer.from('GE'))).toEqual({ kind: 'need-more' });
    expect(sniff(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toEqual({ kind: 'other' });
  });
});
