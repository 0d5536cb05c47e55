/**
 * How many bytes of `b` end on a character boundary: all of them, unless `b` ends in the first bytes of
 * a multi-byte UTF-8 character, which are left out (1 to 3). Bytes that are not UTF-8 count as whole.
 */
export function completeUtf8Length(b: Uint8Array): number {
  let k = 0;
  // Continuation bytes (10xxxxxx) at the end, at most three.
  while (k < 3 && k < b.length && (b[b.length - 1 - k]! & 0xc0) === 0x80) k++;
  const at = b.length - 1 - k;
  if (at < 0) return b.length;
  const lead = b[at]!;
  const needs = (lead & 0xe0) === 0xc0 ? 1 : (lead & 0xf0) === 0xe0 ? 2 : (lead & 0xf8) === 0xf0 ? 3 : -1;
  return needs > k ? at : b.length;
}

/**
 * Cuts a byte stream into chunks that each end on a character boundary, so that each is UTF-8 text on
 * its own when the stream is (the session's log sends a chunk that is not as base64, and clients decode
 * chunk by chunk). `push` answers what can go now; `end` what was held back.
 */
export class Utf8Chunker {
  private held?: Buffer;

  push(data: Buffer): Buffer {
    const bytes = this.held ? Buffer.concat([this.held, data]) : data;
    const cut = completeUtf8Length(bytes);
    this.held = cut < bytes.length ? bytes.subarray(cut) : undefined;
    return bytes.subarray(0, cut);
  }

  end(): Buffer | undefined {
    const rest = this.held;
    this.held = undefined;
    return rest;
  }
}
