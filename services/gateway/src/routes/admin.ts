import { AppError } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { isAdmin, type Principal } from '../auth/principal';

const CreateUser = z.object({
  name: z.string().regex(/^[A-Za-z0-9._@-]{1,100}$/, 'letters, digits, . _ @ - (1 to 100)'),
  role: z.enum(['admin', 'member']).default('member'),
  /** Optional: users may sign in with API keys only. */
  password: z.string().min(8).max(1000).optional(),
});
const User = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['admin', 'member']),
  /** An admin let this member use network `open` in their sessions (team mode). */
  allowOpenNetwork: z.boolean().optional(),
  createdAt: z.string(),
});
const PatchUser = z
  .object({
    /** Let this member ask for network `open` (admins always may). Takes effect at once for API keys, at the next token refresh for JWTs. */
    allowOpenNetwork: z.boolean(),
  })
  .strict();
const userView = (u: { id: string; name: string; role: 'admin' | 'member'; allowOpenNetwork?: boolean; createdAt: string }) => ({
  id: u.id,
  name: u.name,
  role: u.role,
  ...(u.allowOpenNetwork ? { allowOpenNetwork: true } : {}),
  createdAt: u.createdAt,
});
const CreateKey = z.object({ label: z.string().min(1).max(200).default('api key') });
const UserParams = z.object({ userId: z.string().min(1).max(100) });
const KeyParams = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, "a key's id: the 16 hex digits after ca_") });
const ApiKeyInfo = z.object({ id: z.string(), userId: z.string(), label: z.string(), createdAt: z.string(), revokedAt: z.string().optional() });

function requireAdmin(who: Principal): void {
  if (!isAdmin(who)) throw new AppError('FORBIDDEN', "only an admin may manage users, their grants and API keys");
}

/** Users and API keys (team mode). Admins manage everyone; a member may create keys for themselves. */
export function adminRoutes(app: ZApp, deps: RouteDeps): void {
  const auth = () => {
    if (!deps.auth) throw new AppError('INVALID_STATE', 'users and API keys exist in team mode only (GATEWAY_AUTH_MODE=team)');
    return deps.auth;
  };
  app.post('/api/v1/users', { schema: { summary: 'create a user (admin)', tags: ['auth'], body: CreateUser, response: { 201: User } } }, async (req, reply) => {
    requireAdmin(req.principal);
    const u = await auth().createUser(req.body);
    return reply.code(201).send({ id: u.id, name: u.name, role: u.role, createdAt: u.createdAt });
  });
  app.get('/api/v1/users', { schema: { summary: 'users (admin)', tags: ['auth'], response: { 200: z.object({ users: z.array(User) }) } } }, async (req) => {
    requireAdmin(req.principal);
    const users = await auth().listUsers();
    return { users: users.map(userView) };
  });
  app.patch(
    '/api/v1/users/:userId',
    { schema: { summary: "change a user's grants (admin): `allowOpenNetwork` lets a member ask for network \"open\"", tags: ['auth'], params: UserParams, body: PatchUser, response: { 200: User } } },
    async (req) => {
      requireAdmin(req.principal);
      return userView(await auth().setGrants(req.params.userId, req.body));
    },
  );
  app.get(
    '/api/v1/users/:userId/api-keys',
    { schema: { summary: "a user's API keys, without the keys themselves", tags: ['auth'], params: UserParams, response: { 200: z.object({ apiKeys: z.array(ApiKeyInfo) }) } } },
    async (req) => {
      if (req.params.userId !== req.principal.userId) requireAdmin(req.principal);
      const keys = await auth().listApiKeys(req.params.userId);
      return { apiKeys: keys.map((k) => ({ id: k.id, userId: k.userId, label: k.label, createdAt: k.createdAt, revokedAt: k.revokedAt })) };
    },
  );
  app.delete(
    '/api/v1/api-keys/:keyId',
    { schema: { summary: 'revoke an API key (admin, or its owner); it is refused from then on', tags: ['auth'], params: KeyParams, response: { 200: z.object({ revoked: z.boolean() }) } } },
    async (req) => ({ revoked: await auth().revokeApiKey(req.params.keyId, req.principal) }),
  );
  app.post(
    '/api/v1/users/:userId/api-keys',
    { schema: { summary: 'create an API key; the key is shown once', tags: ['auth'], params: UserParams, body: CreateKey } },
    async (req, reply) => {
      if (req.params.userId !== req.principal.userId) requireAdmin(req.principal);
      return reply.code(201).send(await auth().createApiKey(req.params.userId, req.body.label));
    },
  );
}
