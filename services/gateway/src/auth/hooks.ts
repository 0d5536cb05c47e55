import { AppError } from '@codeagent/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { localRequestRefusal } from '../http/local-origin';
import type { AuthService } from './auth-service';
import { LOCAL_PRINCIPAL, type Principal } from './principal';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** Why the bearer token was refused; thrown in preParsing, once the per-address rate limit has counted the request. */
    authError?: unknown;
  }
}

/** Routes anyone may call, in every mode. */
const PUBLIC = [/^\/health$/, /^\/docs(\/|$)/, /^\/dashboard(\/|$)/, /^\/api\/v1\/auth\/token$/];

/**
 * Puts `req.principal` on every request: the local user in local mode (for programs and loopback
 * pages only, see local-origin.ts); in team mode, the owner of the bearer token (401 with the reason
 * otherwise). Public routes get no principal in team mode.
 *
 * A refused token is not thrown at once: the rate limit (a route-level onRequest hook, so it runs
 * after this one) first counts the request against the caller's address, so guessing keys or tokens
 * is rate-limited too; the refusal is thrown before the body is read.
 */
export function registerAuth(app: FastifyInstance, mode: 'local' | 'team', auth: AuthService | undefined): void {
  app.decorateRequest('principal', undefined as unknown as Principal);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (mode === 'local') {
      const refusal = localRequestRefusal(req.headers);
      if (refusal) throw new AppError('FORBIDDEN', refusal);
      req.principal = LOCAL_PRINCIPAL;
      return;
    }
    const path = req.url.split('?')[0] ?? '';
    if (PUBLIC.some((re) => re.test(path))) return;
    try {
      req.principal = await auth!.authenticate(req.headers.authorization);
    } catch (err) {
      req.authError = err;
    }
  });
  app.addHook('preParsing', async (req: FastifyRequest) => {
    if (req.authError) throw req.authError;
  });
}
