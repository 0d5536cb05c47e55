import { AppError } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';

const TokenRequest = z.discriminatedUnion('grantType', [
  z.object({ grantType: z.literal('password'), username: z.string().min(1).max(200), password: z.string().min(1).max(1000) }),
  z.object({ grantType: z.literal('api_key'), apiKey: z.string().min(1).max(200) }),
  z.object({ grantType: z.literal('refresh_token'), refreshToken: z.string().min(1).max(4000) }),
]);
const TokenReply = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string(),
  expiresIn: z.number(),
  refreshToken: z.string(),
  refreshExpiresIn: z.number(),
});

/** JWTs with refresh (team mode): from a password, an API key, or a refresh token. */
export function authRoutes(app: ZApp, deps: RouteDeps): void {
  app.post(
    '/api/v1/auth/token',
    { schema: { summary: 'exchange a password, API key or refresh token for an access token and a new refresh token', tags: ['auth'], body: TokenRequest, response: { 200: TokenReply } } },
    async (req) => {
      if (!deps.auth) throw new AppError('INVALID_STATE', 'tokens are issued in team mode only (GATEWAY_AUTH_MODE=team); local mode needs no credentials');
      return deps.auth.issue(req.body);
    },
  );
  app.get('/api/v1/auth/me', { schema: { summary: 'who the token belongs to', tags: ['auth'] } }, async (req) => req.principal);
}
