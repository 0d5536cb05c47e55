import path from 'node:path';
import { snapshotPolicyOf } from '@codeagent/db';
import type { Bus } from '@codeagent/bus';
import type { Logger } from '@codeagent/telemetry';
import { buildApp } from './app';
import { AuthService } from './auth/auth-service';
import { listenHost, type GatewayEnv } from './env';
import { openAuthStore } from './repositories/auth-store';
import { DbRateLimitCounter, MemoryRateLimitCounter } from './http/rate-limit';
import { limitSocketCommands } from './http/socket-rate-limit';
import { attachSockets } from './sockets/server';
import { SessionHub } from './sockets/session-hub';

export interface RunningGateway {
  port: number;
  host: string;
  hub: SessionHub;
  /** Team mode's token checks (absent in local mode): also answers other services (gateway.auth.verify). */
  auth?: AuthService;
  /** Starts the replica's own event subscription (after the command handlers are in place). */
  subscribe(): Promise<void>;
  close(): Promise<void>;
}

/** The JSON file users and API keys were kept in before the database; imported from on first start. */
export function authFile(env: GatewayEnv): string {
  return env.GATEWAY_AUTH_FILE ?? path.join(env.DATA_DIR, 'gateway', 'auth.json');
}

/** Builds the HTTP API and the Socket.IO namespace on one port, and listens. */
export async function startGateway(opts: { env: GatewayEnv; bus: Bus; log: Logger }): Promise<RunningGateway> {
  const { env, bus, log } = opts;
  const store = env.GATEWAY_AUTH_MODE === 'team' ? await openAuthStore({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, authFile: authFile(env), log, snapshots: snapshotPolicyOf(env) }) : undefined;
  const auth =
    store
      ? new AuthService(store.repo, {
          jwtSecret: env.GATEWAY_JWT_SECRET!,
          accessTtlS: env.GATEWAY_ACCESS_TOKEN_TTL_S,
          refreshTtlS: env.GATEWAY_REFRESH_TOKEN_TTL_S,
        })
      : undefined;
  // Team mode: counted in the gateway's database, so every replica on it shares each user's limit.
  const rateLimits = store ? new DbRateLimitCounter(store.db.client) : new MemoryRateLimitCounter();
  const { app, services, access, commands } = await buildApp({ env, bus, log, auth, rateLimits });
  const hub = new SessionHub();
  const io = attachSockets(app.server, { env, log, services, access, commands, hub, auth });
  limitSocketCommands(io.of('/v1'), rateLimits, { max: env.GATEWAY_RATE_LIMIT_PER_MINUTE, windowMs: 60_000, log });
  const host = listenHost(env);
  await app.listen({ port: env.GATEWAY_PORT, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : env.GATEWAY_PORT;
  log.info({ host, port, authMode: env.GATEWAY_AUTH_MODE }, 'gateway listening');

  return {
    port,
    host,
    hub,
    auth,
    async subscribe() {
      // This replica's own non-durable queue: every replica receives every event and serves its sockets.
      // After a reconnect the queue is new and what was published meanwhile is gone: every
      // subscription of this replica catches up from the durable log.
      await bus.subscribe(
        'gateway',
        {
          'session.event': async (e) => {
            access.placements.observe(e);
            hub.dispatch(e);
          },
        },
        {
          durable: false,
          ordered: true,
          onAttached: (reattached) => {
            if (!reattached) return;
            // Status changes published meanwhile were lost too: placements are read again on next use.
            access.placements.forgetAll();
            log.info({ subscriptions: hub.resyncAll() }, 'bus reconnected; subscriptions catch up from the log');
          },
        },
      );
    },
    async close() {
      io.close();
      await app.close();
      await store?.close();
    },
  };
}
