/** Git's heuristic: a NUL byte in the first 8000 bytes makes a file binary. Invalid UTF-8 too, for us. */
export function isBinary(data: Buffer): boolean {
  const head = data.subarray(0, 8000);
  if (head.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.length < data.length ? trimPartial(head) : head);
    return false;
  } catch {
    return true;
  }
}

// A sample cut in the middle of a multi-byte character is not invalid UTF-8: drop the partial tail.
function trimPartial(b: Buffer): Buffer {
  let end = b.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const c = b[end - i]!;
    if ((c & 0xc0) === 0xc0) return b.subarray(0, end - i); // a lead byte whose sequence is cut
    if ((c & 0xc0) !== 0x80) break;
  }
  return b;
}
