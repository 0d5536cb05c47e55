import { decodeBody, encodeBody, FRAMED_CONTENT_TYPE } from './bytes';

describe('bytes beside the JSON of a message body', () => {
  test('a payload without bytes is plain JSON, as before', () => {
    const { body, contentType } = encodeBody({ a: 1, b: ['x', { c: null }] });
    expect(contentType).toBe('application/json');
    expect(body.toString()).toBe('{"a":1,"b":["x",{"c":null}]}');
    expect(decodeBody(body, contentType)).toEqual({ a: 1, b: ['x', { c: null }] });
  });

  test('bytes anywhere in the payload come back as the same bytes, viewing the body, and the input is left as it was', () => {
    const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x0a, 0x00, 0xc3]);
    const text = Buffer.from('line\nwith "quotes" and é\n');
    const value = { events: [{ seq: 1, data: { data: text } }, { seq: 2, data: { data: invalidUtf8, note: 'n' } }], empty: new Uint8Array(0), list: [1, 2] };
    const { body, contentType } = encodeBody(value);
    expect(contentType).toBe(FRAMED_CONTENT_TYPE);
    // The bytes follow the JSON as they are: neither escaped nor encoded.
    expect(body.subarray(body.length - invalidUtf8.length).equals(invalidUtf8)).toBe(true);
    expect(value.events[0]!.data.data).toBe(text);
    const back = decodeBody(body, contentType) as typeof value;
    expect(Buffer.isBuffer(back.events[0]!.data.data)).toBe(true);
    expect(Buffer.from(back.events[0]!.data.data).equals(text)).toBe(true);
    expect(Buffer.from(back.events[1]!.data.data).equals(invalidUtf8)).toBe(true);
    expect(back.events[1]!.data.note).toBe('n');
    expect(back.empty).toHaveLength(0);
    expect(back.list).toEqual([1, 2]);
    expect((back.events[0]!.data.data as Buffer).buffer).toBe(body.buffer);
  });

  test('a framed body that lies about its bytes is refused with a reason, never read past its end', () => {
    const framed = (json: string, tail: string) => Buffer.concat([Buffer.from(json), Buffer.from('\n'), Buffer.from(tail)]);
    expect(() => decodeBody(framed('{"d":{"$bytes":[0,10]}}', 'abc'), FRAMED_CONTENT_TYPE)).toThrow('a bytes placeholder outside the body');
    expect(() => decodeBody(framed('{"d":{"$bytes":[-1,1]}}', 'abc'), FRAMED_CONTENT_TYPE)).toThrow('a bytes placeholder outside the body');
    expect(() => decodeBody(framed('{"d":{"$bytes":["0",1]}}', 'abc'), FRAMED_CONTENT_TYPE)).toThrow('a bytes placeholder outside the body');
    expect(() => decodeBody(Buffer.from('{"d":1}'), FRAMED_CONTENT_TYPE)).toThrow('a framed body without its newline');
    expect(() => decodeBody(Buffer.from('{not json'), 'application/json')).toThrow(SyntaxError);
    // An object that only looks like a placeholder beside other keys is data.
    expect(decodeBody(framed('{"d":{"$bytes":[0,1],"x":1}}', 'a'), FRAMED_CONTENT_TYPE)).toEqual({ d: { $bytes: [0, 1], x: 1 } });
  });
});
