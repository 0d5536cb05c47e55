import { envInt, loadEnv } from '@codeagent/config';
import { DatabaseEnv } from '@codeagent/db';
import { z } from 'zod';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** The project-ci service's environment, parsed once at start. */
export const loadServiceEnv = (env: NodeJS.ProcessEnv = process.env) => {
  const parsed = loadEnv(
    {
      /** Port of this service's /health and /metrics (0 picks a free one). */
      PROJECT_CI_PORT: envInt(8085, 0, 65535),
      /** A project's CI listens on this + the project's index (seed 004: 42100). */
      PROJECT_CI_PORT_BASE: envInt(42100, 1, 65535),
      /** Where CI sockets listen: a loopback address (seed 004: "localhost only"), unless PROJECT_CI_AUTH is team (a container publishing them to its host's loopback listens on 0.0.0.0). */
      PROJECT_CI_HOST: z.string().min(1).default('127.0.0.1'),
      /** `none`: anyone who reaches the socket may chat (one user, local mode). `team`: a connection first sends `{"auth": "<API key or access token>"}`, checked by the gateway, and talks only to a project its user may see. Unset: `team` when GATEWAY_AUTH_MODE=team is in this service's environment too (as under `npm start` or with one shared env file), else `none`. */
      PROJECT_CI_AUTH: z.enum(['none', 'team']).optional(),
      /** How long the token and visibility checks of PROJECT_CI_AUTH=team wait for the gateway and the orchestrator. */
      PROJECT_CI_AUTH_TIMEOUT_MS: envInt(5_000, 100, 60_000),
      /** Longest line a client may send; a longer one is answered with PAYLOAD_TOO_LARGE and dropped. */
      PROJECT_CI_MAX_LINE_BYTES: envInt(2 * 1024 * 1024, 1024, 256 * 1024 * 1024),
      /** Clients one CI serves at once; one more gets a LIMIT_REACHED error line and is disconnected. */
      PROJECT_CI_MAX_CLIENTS: envInt(100, 1, 100_000),
      /** Messages of conversation kept per project (a question and its answer count two). */
      PROJECT_CI_HISTORY_MESSAGES: envInt(40, 0, 10_000),
      /** Characters of that history sent to the model with each new message. */
      PROJECT_CI_CONTEXT_CHARS: envInt(32_000, 0, 10_000_000),
      /** How often every CI is pinged. */
      PROJECT_CI_HEALTH_INTERVAL_MS: envInt(10_000, 100, 3_600_000),
      /** How long a CI has to answer a ping. */
      PROJECT_CI_PING_TIMEOUT_MS: envInt(2_000, 10, 60_000),
      /** Pings a CI may miss in a row before it is restarted. */
      PROJECT_CI_MAX_MISSED_PINGS: envInt(3, 1, 100),
      /** How long a closing CI lets answers in progress finish. */
      PROJECT_CI_CLOSE_GRACE_MS: envInt(5_000, 0, 600_000),
      /** How long a message waits for the model (orchestrator.llm.complete). */
      PROJECT_CI_LLM_TIMEOUT_MS: envInt(120_000, 1_000, 3_600_000),
      /** A person answering a project's chat instead of the model (`codeagent project-chat --answer`) loses the claim this long after their client last asked for questions: a crashed client never leaves the project unanswered. */
      PROJECT_CI_ANSWERER_LEASE_MS: envInt(15_000, 1_000, 600_000),
      /** Provider for projects that configure none (seed 004: ollama); `auto` lets the orchestrator choose. */
      PROJECT_CI_DEFAULT_PROVIDER: z.string().min(1).default('ollama'),
      /** Model for projects that configure none; absent: the provider's configured model. */
      PROJECT_CI_DEFAULT_MODEL: z.string().min(1).optional(),
      /** At start, how long to wait for the orchestrator's project list (the registry is reconciled with it). */
      PROJECT_CI_RECONCILE_TIMEOUT_MS: envInt(5_000, 100, 600_000),
      ...DatabaseEnv,
    },
    env,
  );
  // A team platform's sockets authenticate unless told otherwise: with `none`, anyone on the host could
  // chat with another member's private project. The gateway's mode is read as given (it is the
  // gateway's variable; a value it would refuse stops the gateway, not this default).
  const PROJECT_CI_AUTH = parsed.PROJECT_CI_AUTH ?? (env.GATEWAY_AUTH_MODE === 'team' ? 'team' : 'none');
  // Beyond loopback only with every connection authenticated: the sockets reach the project's model.
  if (!LOOPBACK.test(parsed.PROJECT_CI_HOST) && PROJECT_CI_AUTH !== 'team') {
    throw new Error(`PROJECT_CI_HOST: must be a loopback address (127.x.x.x, ::1 or localhost) unless PROJECT_CI_AUTH=team (got "${parsed.PROJECT_CI_HOST}")`);
  }
  return { ...parsed, PROJECT_CI_AUTH };
};
export type ServiceEnv = ReturnType<typeof loadServiceEnv>;
