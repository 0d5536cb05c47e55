import path from 'node:path';
import { snapshotPolicyOf } from '@codeagent/db';
import type { Bus } from '@codeagent/bus';
import type { ServiceDefinition } from '@codeagent/service';
import type { Logger } from '@codeagent/telemetry';
import { buildApp } from './http/app';
import { AuthService } from './auth/auth-service';
import { listenHost, type GatewayEnv } from './env';
import os from 'node:os';
import { openAuthStore, type AuthStore } from './repositories/auth-store';
import { LOCAL_PRINCIPAL, type Principal } from './auth/principal';
import { DbSshKeys, FileSshKeys } from './ssh/keys';
import { AttachOutputs } from './ssh/attach-outputs';
import { startSshServer, type RunningSsh, type SshDeps } from './ssh/server';
import { DbIdempotencyStore } from './http/idempotency';
import { DbRateLimitCounter, MemoryRateLimitCounter } from './http/rate-limit';
import { limitSocketCommands } from './http/socket-rate-limit';
import { attachSockets } from './sockets/server';
import { sessionEndHandlers, sessionEventHandlers } from './handlers/session.event.handler';
import { attachOutputHandler } from './handlers/shell.agent.attach.output.handler';
import { authVerifyHandler } from './handlers/gateway.auth.verify.handler';
import { SessionHub } from './sockets/session-hub';

export interface RunningGateway {
  port: number;
  host: string;
  hub: SessionHub;
  /** The SSH server's port; undefined when it is off (or its port was taken). */
  sshPort?: number;
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

/** The SSH server beside the API; a port already in use is logged and leaves SSH off, not the gateway down. */
async function startSsh(
  env: GatewayEnv,
  host: string,
  d: Pick<SshDeps, 'keys' | 'services' | 'access' | 'commands' | 'hub' | 'attachOutputs' | 'log'> & { store: AuthStore | undefined },
): Promise<RunningSsh | undefined> {
  const principalOf = async (userId: string): Promise<Principal | undefined> => {
    if (!d.store) return userId === LOCAL_PRINCIPAL.userId ? LOCAL_PRINCIPAL : undefined;
    const u = await d.store.repo.findUserById(userId);
    return u ? { userId: u.id, role: u.role, via: 'api-key' } : undefined;
  };
  try {
    return await startSshServer({ ...d, port: env.GATEWAY_SSH_PORT, host, hostKeyFile: env.GATEWAY_SSH_HOST_KEY ?? path.join(env.DATA_DIR, 'gateway', 'ssh_host_ed25519_key'), principalOf });
  } catch (err) {
    d.log.error({ port: env.GATEWAY_SSH_PORT, err: (err as Error).message }, 'ssh server not started; set GATEWAY_SSH_PORT to a free port or GATEWAY_SSH_ENABLED=false');
    return undefined;
  }
}

/**
 * The gateway service for runService (its composition root): the HTTP API, Socket.IO, MCP and SSH
 * (startGateway), the command it answers and the events it follows (handlers/).
 */
export function gatewayService(env: GatewayEnv): ServiceDefinition<'gateway'> {
  return {
    service: 'gateway',
    env,
    // The gateway serves /health and /metrics on its own port, beside the API (behind auth in team
    // mode); GATEWAY_OPS_PORT adds the ops port the other services have, for Prometheus.
    opsPort: env.GATEWAY_OPS_PORT ?? null,
    start: async ({ bus, log }) => {
      const gw = await startGateway({ env, bus, log });
      return { handlers: { 'gateway.auth.verify': authVerifyHandler(gw.auth) }, afterStart: gw.subscribe, stop: gw.close };
    },
  };
}

/** Builds the HTTP API and the Socket.IO namespace on one port, and listens (tests run it on a bus of their own). */
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
  const sshKeys = !env.GATEWAY_SSH_ENABLED ? undefined : store ? new DbSshKeys(store.db.client) : new FileSshKeys(env.GATEWAY_SSH_AUTHORIZED_KEYS ?? path.join(os.homedir(), '.codeagent', 'authorized_keys'));
  // Team mode: Idempotency-Keys in the same database, so a retry reaching another replica is answered too.
  const idempotency = store ? new DbIdempotencyStore(store.db.client) : undefined;
  const { app, services, access, commands } = await buildApp({ env, bus, log, auth, rateLimits, sshKeys, idempotency });
  const hub = new SessionHub();
  const io = attachSockets(app.server, { env, log, services, access, commands, hub, auth });
  limitSocketCommands(io.of('/v1'), rateLimits, { max: env.GATEWAY_RATE_LIMIT_PER_MINUTE, windowMs: 60_000, log });
  const host = listenHost(env);
  await app.listen({ port: env.GATEWAY_PORT, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : env.GATEWAY_PORT;
  log.info({ host, port, authMode: env.GATEWAY_AUTH_MODE }, 'gateway listening');
  const attachOutputs = new AttachOutputs();
  const ssh = sshKeys ? await startSsh(env, host, { keys: sshKeys, store, services, access, commands, hub, attachOutputs, log }) : undefined;

  return {
    port,
    host,
    hub,
    sshPort: ssh?.port,
    auth,
    async subscribe() {
      // This replica's own queue, gone with its connection (the broker keeps nothing of it on disk):
      // the logs of the sessions this replica's clients follow (the hub binds them), and every
      // session's end (for the placement cache). After a reconnect the queue is new, bound again, and
      // what was published meanwhile is gone: every subscription of this replica catches up from the
      // durable log.
      const live = await bus.subscribe(
        'gateway',
        {
          ...sessionEventHandlers(access.placements, hub),
          ...sessionEndHandlers(access.placements),
          'shell.agent.attach.output': attachOutputHandler(attachOutputs),
        },
        {
          durable: false,
          transient: true,
          followedSessionsOnly: true,
          ordered: true,
          onAttached: (reattached) => {
            if (!reattached) return;
            // Status changes published meanwhile were lost too: placements are read again on next use.
            access.placements.forgetAll();
            log.info({ subscriptions: hub.resyncAll() }, 'bus reconnected; subscriptions catch up from the log');
          },
        },
      );
      await hub.attach(live);
    },
    async close() {
      await ssh?.close();
      io.close();
      await app.close();
      await store?.close();
    },
  };
}
