import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { AppError, Headers } from '@codeagent/contracts';

/** The shortest platform secret accepted: 32 characters, as for GATEWAY_JWT_SECRET. */
export const MIN_BUS_SECRET_LENGTH = 32;

/** Versioned so that a later scheme (another hash, a key id for rotation) can live beside this one. */
const SCHEME = 'v1';
const PREFIX = `${SCHEME}=`;
/** HMAC-SHA256 digest length. */
const DIGEST_BYTES = 32;
/** A publisher header longer than this is not one of ours; it is refused before hashing anything. */
const MAX_PUBLISHER_LENGTH = 100;

/** The AMQP properties a signature binds besides the body: what routes and names the message. */
export interface SignedProperties {
  messageId?: string;
  /** The catalog name (or `response`/`error` for replies): it picks the handler and the schema. */
  type?: string;
  /** Binds a reply to the one request it answers. */
  correlationId?: string;
}

/** Why a message was refused; also the `reason` label of `bus_unauthenticated_total`. */
export type RefusalReason = 'unsigned' | 'bad-signature';

export type Verification = { ok: true; publisher: string } | { ok: false; reason: RefusalReason };

/**
 * Signs and verifies bus messages with the platform secret (CODEAGENT_BUS_SECRET) every service
 * shares: HMAC-SHA256 over the signed properties and the exact body bytes, so nothing is serialised
 * twice and a verifier never parses what it has not authenticated. Anything that can reach the broker
 * but lacks the secret (code in a jail, a leaked guest/guest) can no longer act on the platform.
 *
 * A shared secret proves "a platform service sent this", not which one: `publisher` is the name the
 * sender claims under that proof. Replay of a captured message is not prevented here (it needs read
 * access to a queue); consumers' idempotency on the envelope id is what absorbs it.
 */
export class BusSigner {
  private readonly key: KeyObject;

  constructor(secret: string | undefined) {
    if (!secret || secret.length < MIN_BUS_SECRET_LENGTH) {
      throw new AppError(
        'VALIDATION_FAILED',
        `CODEAGENT_BUS_SECRET ${secret ? `is shorter than ${MIN_BUS_SECRET_LENGTH} characters` : 'is not set'}: every service signs and ` +
          'verifies bus messages with it. `npm start` creates one in the data folder; elsewhere set the same ' +
          `random value of ${MIN_BUS_SECRET_LENGTH}+ characters on every service (e.g. \`openssl rand -hex 32\`).`,
      );
    }
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** The headers that make a message authentic; merge them into the message's own headers. */
  headers(publisher: string, props: SignedProperties, body: Buffer): Record<string, string> {
    return { [Headers.publisher]: publisher, [Headers.signature]: PREFIX + this.digest(publisher, props, body).toString('base64') };
  }

  /** Checks a delivered message before anything reads its body. */
  verify(headers: Record<string, unknown> | undefined, props: SignedProperties, body: Buffer): Verification {
    const publisher = text(headers?.[Headers.publisher]);
    const signature = text(headers?.[Headers.signature]);
    if (!publisher || !signature || publisher.length > MAX_PUBLISHER_LENGTH || !signature.startsWith(PREFIX)) return { ok: false, reason: 'unsigned' };
    const given = Buffer.from(signature.slice(PREFIX.length), 'base64');
    // timingSafeEqual needs equal lengths; a wrong length says nothing about the key.
    if (given.length !== DIGEST_BYTES) return { ok: false, reason: 'bad-signature' };
    return timingSafeEqual(given, this.digest(publisher, props, body)) ? { ok: true, publisher } : { ok: false, reason: 'bad-signature' };
  }

  private digest(publisher: string, props: SignedProperties, body: Buffer): Buffer {
    // A JSON array keeps the fields unambiguous (no value can pose as its neighbour); it is a few
    // dozen bytes, while the body is hashed as it is, never copied. Each update crosses into native
    // code, so the separator rides with the fields: most of the cost is the Hmac object itself.
    const fields = JSON.stringify([SCHEME, publisher, props.messageId ?? '', props.type ?? '', props.correlationId ?? '']) + '\n';
    return createHmac('sha256', this.key).update(fields).update(body).digest();
  }
}

/** amqplib decodes string headers as strings; anything else (a number, a table) is not a signature. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}
