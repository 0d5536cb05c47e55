/**
 * Bytes in a message's payload (a session's output, as the jail read it) travel as bytes, not as
 * JSON text: the body is the envelope's JSON, in which each byte array is replaced by
 * `{"$bytes":[start,length]}`, then a newline (JSON.stringify never writes one), then the arrays
 * one after the other. The consumer gets them back as Buffers that view the message's body, so no
 * byte is decoded, escaped, parsed or copied on the way; the signature covers the whole body.
 */
export const FRAMED_CONTENT_TYPE = 'application/vnd.codeagent.json+bytes';

const NEWLINE = Buffer.from('\n');
const KEY = '$bytes';

/** The value with every Uint8Array in it replaced by its placeholder, and the arrays; the value itself when it holds none. */
function extract(value: unknown, out: Uint8Array[], offset: { at: number }): unknown {
  if (value instanceof Uint8Array) {
    out.push(value);
    const placeholder = { [KEY]: [offset.at, value.byteLength] };
    offset.at += value.byteLength;
    return placeholder;
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = extract(value[i], out, offset);
      if (v !== value[i]) (copy ??= value.slice())[i] = v;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [k, v0] of Object.entries(value)) {
    const v = extract(v0, out, offset);
    if (v !== v0) (copy ??= { ...value })[k] = v;
  }
  return copy ?? value;
}

/** The body of a message carrying `value`, and its content type: plain JSON unless the value holds bytes. */
export function encodeBody(value: unknown): { body: Buffer; contentType: string } {
  const bytes: Uint8Array[] = [];
  const json = Buffer.from(JSON.stringify(extract(value, bytes, { at: 0 })));
  if (bytes.length === 0) return { body: json, contentType: 'application/json' };
  return { body: Buffer.concat([json, NEWLINE, ...bytes]), contentType: FRAMED_CONTENT_TYPE };
}

/** What encodeBody was given, with its bytes as Buffers viewing `body`; throws on a body that is not one. */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  if (contentType !== FRAMED_CONTENT_TYPE) return JSON.parse(body.toString('utf8'));
  const end = body.indexOf(0x0a);
  if (end < 0) throw new Error('a framed body without its newline');
  const tail = body.subarray(end + 1);
  return restore(JSON.parse(body.toString('utf8', 0, end)), tail);
}

function restore(value: unknown, tail: Buffer): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], tail);
    return value;
  }
  const o = value as Record<string, unknown>;
  const at = o[KEY];
  if (Array.isArray(at) && Object.keys(o).length === 1) {
    const [start, length] = at as unknown[];
    if (!Number.isInteger(start) || !Number.isInteger(length) || (start as number) < 0 || (length as number) < 0 || (start as number) + (length as number) > tail.length) {
      throw new Error('a bytes placeholder outside the body');
    }
    return tail.subarray(start as number, (start as number) + (length as number));
  }
  for (const k of Object.keys(o)) o[k] = restore(o[k], tail);
  return o;
}
