import type { ActorV1 } from '@codeagent/contracts';
import type { Principal } from './principal';

/**
 * How the role travels (agreed with the orchestrator's contract, messages/session.ts): every request
 * about sessions, projects and tasks carries `actor: {userId, role}` in its payload, and
 * `metadata.user` carries the same user id. The gateway also checks ownership itself. A member's
 * per-user grants (network `open`) travel with it; the orchestrator decides with them and the project.
 */
export const actorOf = (who: Principal): ActorV1 => ({ userId: who.userId, role: who.role, ...(who.allowOpenNetwork ? { allowOpenNetwork: true } : {}) });
