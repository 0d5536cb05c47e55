/**
 * What the first bytes a client sends through a CONNECT tunnel say about where it really wants to go:
 * the server name of a TLS ClientHello (SNI), or that it is a plain HTTP request. The proxy compares
 * them with the CONNECT target, so a tunnel opened to an allowed name cannot carry a request for
 * another one (domain fronting, a relayed CONNECT).
 */
export type Sniffed =
  | { kind: 'need-more' }
  | { kind: 'tls'; serverName?: string }
  | { kind: 'http' }
  | { kind: 'other' };

/** Largest prefix buffered to read a ClientHello (one TLS record). */
export const SNIFF_LIMIT = 16 * 1024 + 5;
const MAX_REQUEST_LINE = 8 * 1024;
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9a-z-]+ +\S+ +http\/\d/i;

export function sniff(buf: Buffer): Sniffed {
  if (buf.length === 0) return { kind: 'need-more' };
  if (buf[0] === 0x16) return sniffTls(buf);
  // Servers skip empty lines before a request line (RFC 9112 2.2; Node's does): look past them.
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) return { kind: 'need-more' };
  const nl = buf.indexOf(0x0a, start);
  const line = buf.subarray(start, nl === -1 ? Math.min(buf.length, start + MAX_REQUEST_LINE) : nl).toString('latin1');
  if (nl === -1) {
    // A text line still coming (a request line arrives whole in practice, but need not): wait for its end.
    return /^[\x20-\x7e]*$/.test(line) && buf.length - start < MAX_REQUEST_LINE ? { kind: 'need-more' } : { kind: 'other' };
  }
  // Any method token in any case: what a lenient server would take for a request is one.
  if (REQUEST_LINE.test(line)) return { kind: 'http' };
  return { kind: 'other' };
}

function sniffTls(buf: Buffer): Sniffed {
  if (buf.length < 5) return { kind: 'need-more' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return buf.length >= SNIFF_LIMIT ? { kind: 'tls' } : { kind: 'need-more' };
  const hs = buf.subarray(5, 5 + recordLen);
  // Handshake type 1 (ClientHello), 3-byte length, version(2), random(32).
  if (hs[0] !== 0x01 || hs.length < 38) return { kind: 'tls' };
  let p = 38;
  const skip = (lenBytes: 1 | 2): boolean => {
    if (p + lenBytes > hs.length) return false;
    const n = lenBytes === 1 ? hs[p]! : hs.readUInt16BE(p);
    p += lenBytes + n;
    return p <= hs.length;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return { kind: 'tls' }; // session id, cipher suites, compression
  if (p + 2 > hs.length) return { kind: 'tls' };
  const end = Math.min(hs.length, p + 2 + hs.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = hs.readUInt16BE(p);
    const len = hs.readUInt16BE(p + 2);
    const body = hs.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (type !== 0x0000 || body.length < 5) continue;
    // server_name_list: length(2), then entries of type(1) length(2) name.
    let q = 2;
    while (q + 3 <= body.length) {
      const nameType = body[q]!;
      const nameLen = body.readUInt16BE(q + 1);
      const name = body.subarray(q + 3, q + 3 + nameLen).toString('latin1');
      if (nameType === 0) return { kind: 'tls', serverName: name };
      q += 3 + nameLen;
    }
  }
  return { kind: 'tls' };
}
