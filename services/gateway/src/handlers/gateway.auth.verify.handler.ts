import { AppError, type ActorV1, type AuthVerifyV1 } from '@codeagent/contracts';
import { actorOf } from '../auth/actor';
import type { AuthService } from '../auth/auth-service';

/**
 * `gateway.auth.verify`: whose token is this. The gateway owns users and API keys, so a service that
 * is handed a client's credential (project-ci's team-mode sockets) asks here instead of keeping a copy
 * of the keys or the JWT secret. A revoked key or an expired token is UNAUTHENTICATED at once.
 */
export function authVerifyHandler(auth: AuthService | undefined) {
  return async (p: AuthVerifyV1): Promise<ActorV1> => {
    if (!auth) throw new AppError('UNAUTHENTICATED', 'the gateway runs in local mode and issues no tokens: set GATEWAY_AUTH_MODE=team, or turn socket auth off (PROJECT_CI_AUTH=none)');
    return actorOf(await auth.authenticateToken(p.token));
  };
}
