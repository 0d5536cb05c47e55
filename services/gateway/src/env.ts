import { envBool, envInt, loadEnv } from '@codeagent/config';
import { DatabaseEnv } from '@codeagent/db';
import { z } from 'zod';

/** The gateway's environment, parsed once at start. */
export const GatewayEnvShape = {
  /** Users, API keys, refresh tokens and SSH keys (SQLite under DATA_DIR by default). */
  ...DatabaseEnv,
  /** Port of the REST API, Socket.IO, /health and /metrics (0 picks a free one). */
  GATEWAY_PORT: envInt(8080, 0, 65535),
  /** The SSH server (API.md "SSH"): on by default; loopback only in local mode, like GATEWAY_PORT. */
  GATEWAY_SSH_ENABLED: envBool(true),
  /** Its port (0 picks a free one). A port already taken is logged and SSH stays off; the API still starts. */
  GATEWAY_SSH_PORT: envInt(2222, 0, 65535),
  /** Local mode's keys: an OpenSSH authorized_keys file (default ~/.codeagent/authorized_keys); team mode keeps them in the database. */
  GATEWAY_SSH_AUTHORIZED_KEYS: z.string().min(1).optional(),
  /** The server's host key (ed25519, made on first start; default DATA_DIR/gateway/ssh_host_ed25519_key). */
  GATEWAY_SSH_HOST_KEY: z.string().min(1).optional(),
  /**
   * An ops port of its own serving /metrics and /health without credentials, on OPS_HOST, for
   * Prometheus in team mode (where /metrics on GATEWAY_PORT needs a token). Unset: none. Keep it off
   * the public network.
   */
  GATEWAY_OPS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * `local` (default): listens on 127.0.0.1 only, no credentials, one user who is admin.
   * `team`: bearer token (API key or JWT) on everything but /health, members see only their own things.
   * project-ci reads it too: its sockets then authenticate unless PROJECT_CI_AUTH says otherwise.
   */
  GATEWAY_AUTH_MODE: z.enum(['local', 'team']).default('local'),
  /** Interface to listen on; default 127.0.0.1 in local mode (forced), 0.0.0.0 in team mode. */
  GATEWAY_HOST: z.string().optional(),
  /** Secret that signs JWTs (HS256), at least 32 characters; required in team mode. */
  GATEWAY_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** Lifetime of an access token, seconds. */
  GATEWAY_ACCESS_TOKEN_TTL_S: envInt(900, 10, 86_400),
  /** Lifetime of a refresh token, seconds. */
  GATEWAY_REFRESH_TOKEN_TTL_S: envInt(7 * 86_400, 60, 365 * 86_400),
  /** Requests per minute per user (or per IP when unauthenticated). */
  GATEWAY_RATE_LIMIT_PER_MINUTE: envInt(600, 1, 1_000_000),
  /** How long an Idempotency-Key (session create, exec) and the answer it stands for are kept (default one day). */
  GATEWAY_IDEMPOTENCY_TTL_MS: envInt(86_400_000, 1000, 30 * 86_400_000),
  /** How long a route waits for the service behind it, ms. */
  GATEWAY_REQUEST_TIMEOUT_MS: envInt(15_000, 50, 600_000),
  /**
   * How long a command run without its own `timeoutMs` may take (HTTP, socket /exec, MCP run_command).
   * Sent to the shell as the command's timeout, so the gateway waits exactly as long as the command
   * may run. The same default as ORCHESTRATOR_EXEC_TIMEOUT_MS (the agents' commands).
   */
  GATEWAY_EXEC_TIMEOUT_MS: envInt(10 * 60_000, 1, 86_400_000),
  /**
   * How long a session's cached placement (its shell replica, owner and state) is trusted before it is
   * read again, ms (in the background: the next command still uses it): status events keep it current;
   * this bounds how long a lost event can mislead it. Live events are lost only with the gateway's
   * connection, after which every entry is read again, and a command sent on a wrong entry is refused
   * by the shell and sent again after a fresh read: the backstop can be long.
   */
  GATEWAY_PLACEMENT_TTL_MS: envInt(5 * 60_000, 0, 3_600_000),
  /** Sessions whose placement the gateway caches (the oldest is dropped beyond). */
  GATEWAY_PLACEMENT_MAX_SESSIONS: envInt(10_000, 1, 10_000_000),
  /**
   * How long `POST /api/projects/chat` waits for project-ci: it waits up to PROJECT_CI_LLM_TIMEOUT_MS
   * (120 s) for the model, so this stays above that.
   */
  GATEWAY_CHAT_TIMEOUT_MS: envInt(130_000, 50, 3_600_000),
  /** How long a project route waits for project-ci's registry to show a new or renamed project's CI, ms. */
  GATEWAY_PROJECT_CI_WAIT_MS: envInt(3_000, 0, 60_000),
  /**
   * Trust X-Forwarded-For (team mode behind a reverse proxy): per-address rate limits then use the
   * client's address. Off by default, since anyone could otherwise pick their own address.
   */
  GATEWAY_TRUST_PROXY: envBool(false),
  /** How long /health waits for each ping, ms. */
  GATEWAY_HEALTH_TIMEOUT_MS: envInt(1_500, 50, 60_000),
  /** Bytes a socket may have waiting unsent; past it a subscriber is served from the log at its own pace (an `/exec` without a subscription is dropped, resumable by seq). */
  GATEWAY_SOCKET_MAX_BUFFERED_BYTES: envInt(8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
  /** How long a socket with a full buffer may read nothing before the gateway drops it as stuck (resumable by seq), ms. */
  GATEWAY_SOCKET_DRAIN_TIMEOUT_MS: envInt(30_000, 100, 600_000),
  /**
   * Events fetched per page when replaying a session's history to a socket. The orchestrator also
   * stops a page at about 1 MiB of data, so a page of large output events stays small in memory.
   */
  GATEWAY_REPLAY_PAGE_SIZE: envInt(500, 1, 10_000),
  /**
   * The JSON file users and API keys were kept in before the database (default DATA_DIR/gateway/auth.json):
   * imported into the database on the first start that finds it, then renamed `<file>.imported`.
   */
  GATEWAY_AUTH_FILE: z.string().optional(),
  /** Largest request body, bytes. */
  GATEWAY_BODY_LIMIT: envInt(60 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
};

export const loadServiceEnv = (source: NodeJS.ProcessEnv = process.env) => {
  const env = loadEnv(GatewayEnvShape, source);
  if (env.GATEWAY_AUTH_MODE === 'team' && !env.GATEWAY_JWT_SECRET) {
    throw new Error('GATEWAY_JWT_SECRET (32+ characters) is required when GATEWAY_AUTH_MODE=team');
  }
  return env;
};
export type GatewayEnv = ReturnType<typeof loadServiceEnv>;

/** Local mode never listens beyond loopback, whatever GATEWAY_HOST says. */
export function listenHost(env: GatewayEnv): string {
  if (env.GATEWAY_AUTH_MODE === 'local') return '127.0.0.1';
  return env.GATEWAY_HOST ?? '0.0.0.0';
}
