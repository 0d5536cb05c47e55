import { AppError } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';

const SshKeyV1 = z.object({ id: z.string(), name: z.string(), publicKey: z.string(), fingerprint: z.string(), createdAt: z.string() });
const AddKey = z.object({ name: z.string().min(1).max(200).regex(/^[^\n\r]+$/, 'one line'), publicKey: z.string().min(1).max(16_384) }).strict();
const tags = ['ssh'];

/** The caller's SSH public keys (API.md "SSH"): what `ssh -p 2222 <sessionId>@host` accepts for them. */
export function sshKeyRoutes(app: ZApp, { sshKeys }: RouteDeps): void {
  const store = () => {
    if (!sshKeys) throw new AppError('SERVICE_UNAVAILABLE', 'SSH is off on this gateway (GATEWAY_SSH_ENABLED=false)');
    return sshKeys;
  };
  app.post('/api/v1/users/me/ssh-keys', { schema: { summary: 'register an SSH public key (an OpenSSH public key line)', tags, body: AddKey, response: { 201: SshKeyV1 } } }, async (req, reply) =>
    reply.code(201).send(await store().add(req.principal.userId, req.body)),
  );
  app.get('/api/v1/users/me/ssh-keys', { schema: { summary: 'your SSH public keys', tags, response: { 200: z.object({ keys: z.array(SshKeyV1) }) } } }, async (req) => ({
    keys: await store().list(req.principal.userId),
  }));
  app.delete('/api/v1/users/me/ssh-keys/:keyId', { schema: { summary: 'remove one of your SSH keys', tags, params: z.object({ keyId: z.string().min(1).max(200) }), response: { 204: z.null() } } }, async (req, reply) => {
    if (!(await store().remove(req.principal.userId, req.params.keyId))) throw new AppError('NOT_FOUND', `you have no SSH key ${req.params.keyId}`);
    return reply.code(204).send(null);
  });
}
