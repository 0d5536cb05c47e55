import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '@codeagent/bus';
import type { Logger } from '@codeagent/telemetry';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SessionAccess } from '../auth/access';
import type { AuthService } from '../auth/auth-service';
import type { GatewayEnv } from '../env';
import type { ServiceClient } from '../http/bus-call';
import type { IdempotencyStore } from '../http/idempotency';
import type { RateLimitCounter } from '../http/rate-limit';
import type { SessionCommands } from '../sessions/commands';
import type { SshKeyStore } from '../ssh/keys';

// What the HTTP app (http/app.ts) gives every route file: here, apart from both, so that route files
// do not import the app that imports them.

export interface GatewayDeps {
  env: GatewayEnv;
  bus: Bus;
  log: Logger;
  /** Absent in local mode. */
  auth?: AuthService;
  /** Where request counts are kept (shared with socket commands); default: this process's memory. */
  rateLimits?: RateLimitCounter;
  /** Where Idempotency-Keys and their answers are kept; default: this process's memory. */
  idempotency?: IdempotencyStore;
  /** SSH public keys (absent when SSH is off). */
  sshKeys?: SshKeyStore;
}

/** What every route file receives. */
export interface RouteDeps extends GatewayDeps {
  services: ServiceClient;
  access: SessionAccess;
  /** Session commands straight to the shell replica holding the jail. */
  commands: SessionCommands;
}

export type ZApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
