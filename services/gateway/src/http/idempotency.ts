import { isUniqueViolation } from '@codeagent/db';
import { createHash } from 'node:crypto';
import { AppError } from '@codeagent/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../repositories/database';
import { HttpProblem } from './problem';

// `Idempotency-Key` on the requests that do something once (open a session, run a command): the first
// request with a key does the work and its answer is kept; a retry with the same key (same user, same
// operation, same parameters and body) gets that answer back, marked `Idempotency-Replayed: true`,
// instead of a second session or a second run. While the first is still running a retry is a 409
// (retryable); the same key with a different request is a 422. Answers that did nothing (408, 409,
// 425, 429 and 5xx) are not kept, so a retry tries again. Keys are forgotten after a TTL.

/** The operations that take the header: `METHOD route` as registered. */
export const IDEMPOTENT_ROUTES = new Set(['POST /api/v1/sessions', 'POST /api/v1/sessions/:id/exec']);
export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[\x21-\x7e]{1,255}$/;
const NOT_KEPT = new Set([408, 409, 425, 429]);

export type Claim =
  | { state: 'new' }
  | { state: 'running' }
  | { state: 'mismatch' }
  | { state: 'done'; status: number; contentType: string; body: string };

/** Where keys and answers are kept: the gateway's database in team mode (shared by replicas), memory otherwise. */
export interface IdempotencyStore {
  /** Claims `key` for this request, or says what the first request with it did. */
  claim(scope: string, key: string, fingerprint: string, ttlMs: number): Promise<Claim>;
  /** The first request's answer. */
  complete(scope: string, key: string, answer: { status: number; contentType: string; body: string }): Promise<void>;
  /** The first request did nothing worth keeping: the key is free again. */
  release(scope: string, key: string): Promise<void>;
}

interface Entry {
  fingerprint: string;
  expiresAt: number;
  answer?: { status: number; contentType: string; body: string };
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  async claim(scope: string, key: string, fingerprint: string, ttlMs: number): Promise<Claim> {
    const now = Date.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    const id = `${scope}\u0000${key}`;
    const e = this.entries.get(id);
    if (!e) {
      this.entries.set(id, { fingerprint, expiresAt: now + ttlMs });
      return { state: 'new' };
    }
    return verdict(e.fingerprint, fingerprint, e.answer);
  }

  async complete(scope: string, key: string, answer: { status: number; contentType: string; body: string }): Promise<void> {
    const e = this.entries.get(`${scope}\u0000${key}`);
    if (e) e.answer = answer;
  }

  async release(scope: string, key: string): Promise<void> {
    this.entries.delete(`${scope}\u0000${key}`);
  }
}

export class DbIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Db) {}

  async claim(scope: string, key: string, fingerprint: string, ttlMs: number): Promise<Claim> {
    const now = new Date();
    // An expired key is forgotten first, so it can be claimed anew; others' expired keys go too.
    await this.db.idempotencyKey.deleteMany({ where: { expiresAt: { lte: now } } });
    try {
      await this.db.idempotencyKey.create({ data: { scope, key, fingerprint, expiresAt: new Date(now.getTime() + ttlMs) } });
      return { state: 'new' };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const row = await this.db.idempotencyKey.findUnique({ where: { scope_key: { scope, key } } });
    // Released between our insert and this read: the retry may claim it again.
    if (!row) return this.claim(scope, key, fingerprint, ttlMs);
    return verdict(row.fingerprint, fingerprint, row.status === null ? undefined : { status: row.status, contentType: row.contentType ?? 'application/json', body: row.body ?? '' });
  }

  async complete(scope: string, key: string, answer: { status: number; contentType: string; body: string }): Promise<void> {
    await this.db.idempotencyKey.updateMany({ where: { scope, key }, data: answer });
  }

  async release(scope: string, key: string): Promise<void> {
    await this.db.idempotencyKey.deleteMany({ where: { scope, key, status: null } });
  }
}

function verdict(kept: string, asked: string, answer: Entry['answer']): Claim {
  if (kept !== asked) return { state: 'mismatch' };
  return answer ? { state: 'done', ...answer } : { state: 'running' };
}

interface Pending {
  scope: string;
  key: string;
}
const pendingOf = new WeakMap<FastifyRequest, Pending>();

/**
 * The hooks: after authentication and validation (so a refused request claims nothing), before the
 * handler; the answer is kept as it is sent. Routes are matched by IDEMPOTENT_ROUTES, so route files
 * need no change.
 */
export function registerIdempotency(app: FastifyInstance, store: IdempotencyStore, opts: { ttlMs: number }): void {
  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined || !IDEMPOTENT_ROUTES.has(`${req.method} ${req.routeOptions.url}`)) return;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || !KEY.test(key)) throw new AppError('VALIDATION_FAILED', 'Idempotency-Key is 1 to 255 visible ASCII characters', { details: { fields: [{ in: 'headers', path: 'idempotency-key', message: 'invalid' }] } });
    const scope = `${req.principal?.userId ?? 'anonymous'} ${req.method} ${req.routeOptions.url}`;
    const fingerprint = createHash('sha256').update(JSON.stringify([req.params ?? {}, req.body ?? null])).digest('hex');
    const claim = await store.claim(scope, key, fingerprint, opts.ttlMs);
    if (claim.state === 'new') return void pendingOf.set(req, { scope, key });
    if (claim.state === 'running') throw new AppError('CONFLICT', 'a request with this Idempotency-Key is still running; retry when it has answered', { retryable: true });
    if (claim.state === 'mismatch') throw new HttpProblem(422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency key reused', 'this Idempotency-Key was used with a different request; use a new key for a new request');
    return reply.code(claim.status).header('idempotency-replayed', 'true').type(claim.contentType).send(claim.body);
  });

  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const pending = pendingOf.get(req);
    if (!pending) return payload;
    pendingOf.delete(req);
    const status = reply.statusCode;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (status >= 500 || NOT_KEPT.has(status) || body === undefined) await store.release(pending.scope, pending.key);
    else await store.complete(pending.scope, pending.key, { status, contentType: String(reply.getHeader('content-type') ?? 'application/json'), body });
    return payload;
  });
}
