import { z } from 'zod';
import { command } from '../define';
import { ActorV1 } from './session';

/** A bearer credential another service was given by a client (project-ci's team-mode sockets). */
export const AuthVerifyV1 = z.object({
  /** An API key (`ca_...`) or an access token from POST /api/v1/auth/token: what REST takes after `Bearer `. */
  token: z.string().min(1).max(8192),
});
export type AuthVerifyV1 = z.infer<typeof AuthVerifyV1>;

export const gatewayCommands = {
  'gateway.auth.verify': command('gateway', {
    request: AuthVerifyV1,
    reply: ActorV1,
    summary: 'whose token is this? the gateway (which owns users and keys) answers with the actor, or UNAUTHENTICATED',
  }),
} as const;
