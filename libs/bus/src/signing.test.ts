import { Headers } from '@codeagent/contracts';
import { BusSigner } from './signing';

const secret = 's'.repeat(40);
const body = Buffer.from('{"id":"m1","payload":{"sessionId":"ses_1"}}');
const props = { messageId: 'm1', type: 'orchestrator.session.close', correlationId: 'c1' };

test('a message verifies with the key and properties it was signed with, naming its publisher', () => {
  const signer = new BusSigner(secret);
  const headers = signer.headers('gateway', props, body);
  expect(headers[Headers.publisher]).toBe('gateway');
  expect(headers[Headers.signature]).toMatch(/^v1=[A-Za-z0-9+/]{43}=$/);
  expect(new BusSigner(secret).verify(headers, props, body)).toEqual({ ok: true, publisher: 'gateway' });
});

test('any change to the body, a signed property or the publisher breaks the signature', () => {
  const signer = new BusSigner(secret);
  const headers = signer.headers('gateway', props, body);
  const flipped = Buffer.from(body);
  const at = flipped.length - 3;
  flipped.writeUInt8(flipped.readUInt8(at) ^ 1, at);
  const bad = { ok: false, reason: 'bad-signature' };
  expect(signer.verify(headers, props, flipped)).toEqual(bad);
  expect(signer.verify(headers, { ...props, type: 'orchestrator.session.get' }, body)).toEqual(bad);
  expect(signer.verify(headers, { ...props, correlationId: 'c2' }, body)).toEqual(bad);
  expect(signer.verify(headers, { ...props, messageId: 'm2' }, body)).toEqual(bad);
  expect(signer.verify({ ...headers, [Headers.publisher]: 'shell' }, props, body)).toEqual(bad);
  expect(new BusSigner('t'.repeat(40)).verify(headers, props, body)).toEqual(bad);
});

test('fields cannot pose as their neighbours', () => {
  // Without unambiguous framing, ("a", "b\nc") and ("a\nb", "c") could hash alike.
  const signer = new BusSigner(secret);
  const headers = signer.headers('gateway', { messageId: 'm', type: 'x' }, body);
  expect(signer.verify(headers, { messageId: '', type: 'mx' }, body).ok).toBe(false);
  expect(signer.verify(headers, { messageId: 'mx', type: '' }, body).ok).toBe(false);
});

test('a missing, foreign or malformed signature is refused without comparing anything', () => {
  const signer = new BusSigner(secret);
  const good = signer.headers('gateway', props, body);
  expect(signer.verify(undefined, props, body)).toEqual({ ok: false, reason: 'unsigned' });
  expect(signer.verify({ [Headers.publisher]: 'gateway' }, props, body)).toEqual({ ok: false, reason: 'unsigned' });
  expect(signer.verify({ [Headers.signature]: good[Headers.signature] }, props, body)).toEqual({ ok: false, reason: 'unsigned' });
  expect(signer.verify({ ...good, [Headers.signature]: good[Headers.signature]!.replace('v1=', 'v2=') }, props, body)).toEqual({ ok: false, reason: 'unsigned' });
  expect(signer.verify({ ...good, [Headers.signature]: 'v1=c2hvcnQ=' }, props, body)).toEqual({ ok: false, reason: 'bad-signature' });
  expect(signer.verify({ ...good, [Headers.signature]: 42 }, props, body)).toEqual({ ok: false, reason: 'unsigned' });
  expect(signer.verify({ ...good, [Headers.publisher]: 'g'.repeat(101) }, props, body)).toEqual({ ok: false, reason: 'unsigned' });
});

test('no secret, or a short one, is refused with what to do', () => {
  expect(() => new BusSigner(undefined)).toThrow(/CODEAGENT_BUS_SECRET is not set.*openssl rand -hex 32/);
  expect(() => new BusSigner('x'.repeat(31))).toThrow(/shorter than 32 characters/);
});
