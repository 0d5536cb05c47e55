import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: { N: number }) => Promise<Buffer>;
const SCRYPT_N = 16_384;

/** scrypt with a random salt; the format carries its own parameters so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { N: SCRYPT_N });
  return `scrypt$${SCRYPT_N}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n) });
  return timingSafeEqual(got, expected);
}

/**
 * API keys look like `ca_<id>_<secret>`: the id finds the record, the sha256 of the whole key is
 * compared in constant time. Keys are long random strings, so a fast hash is enough (no brute force).
 */
export function newApiKey(): { id: string; key: string; hash: string } {
  const id = randomBytes(8).toString('hex');
  const key = `ca_${id}_${randomBytes(24).toString('base64url')}`;
  return { id, key, hash: sha256(key) };
}

export function parseApiKey(token: string): { id: string } | undefined {
  const m = /^ca_([0-9a-f]{16})_[A-Za-z0-9_-]{32}$/.exec(token);
  return m ? { id: m[1]! } : undefined;
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
