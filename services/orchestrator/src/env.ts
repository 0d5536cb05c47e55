import { envInt, envJson, loadEnv } from '@codeagent/config';
import { SandboxSpecV1 } from '@codeagent/contracts';
import { z } from 'zod';
import { DatabaseEnv } from '@codeagent/db';
import { AgentEnv } from './agents/agent-env';

/** The orchestrator service's environment, parsed once at start. */
export const loadServiceEnv = () =>
  loadEnv({
    /** Port of this service's /health and /metrics (0 picks a free one). */
    ORCHESTRATOR_PORT: envInt(8081, 0, 65535),
    ...DatabaseEnv,
    ...AgentEnv,
    /** Live sessions at once, all users together; the next create is refused with LIMIT_REACHED. */
    ORCHESTRATOR_MAX_SESSIONS: envInt(200, 1, 1_000_000),
    /** Live sessions at once per user. */
    ORCHESTRATOR_MAX_SESSIONS_PER_USER: envInt(20, 1, 1_000_000),
    /** A ready or idle session with no activity for this long is closed (0: never). */
    ORCHESTRATOR_SESSION_IDLE_MS: envInt(30 * 60_000, 0, 365 * 86_400_000),
    /** Default timeout of a command run through orchestrator.session.exec. */
    ORCHESTRATOR_EXEC_TIMEOUT_MS: envInt(10 * 60_000, 1, 86_400_000),
    /** How long workspace.prepare/fork may take (git clones). */
    ORCHESTRATOR_PREPARE_TIMEOUT_MS: envInt(120_000, 1, 3_600_000),
    /** How long shell.open/close may take. */
    ORCHESTRATOR_SHELL_OPEN_TIMEOUT_MS: envInt(30_000, 1, 600_000),
    /** How long shell.open may take for a docker session (it may build the project's image first). */
    ORCHESTRATOR_DOCKER_OPEN_TIMEOUT_MS: envInt(600_000, 1, 3_600_000),
    /** How often each project's files are discovered again (its tier, driver, tools), for projects with a local folder (0: only on create, source change and sessions). */
    ORCHESTRATOR_DISCOVERY_MS: envInt(30_000, 0, 86_400_000),
    /** Session events (already live on the bus) are stored in the database at least this often... */
    ORCHESTRATOR_EVENT_FLUSH_MS: envInt(20, 1, 60_000),
    /** ...or as soon as this many wait. */
    ORCHESTRATOR_EVENT_BATCH: envInt(500, 1, 100_000),
    /** Retention of the session event log: events older than this go (0: kept for ever). */
    ORCHESTRATOR_EVENTS_RETENTION_MS: envInt(30 * 86_400_000, 0, 10 * 365 * 86_400_000),
    /** Retention: a session's oldest events beyond this many bytes of data go (0: no cap). */
    ORCHESTRATOR_EVENTS_RETENTION_BYTES: envInt(256 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    /** How often the retention job runs (0: never). A replay of what it removed starts with a `pruned` marker. */
    ORCHESTRATOR_EVENTS_PRUNE_MS: envInt(3_600_000, 0, 86_400_000),
    /** How often sessions are reconciled with the shell and workspace services (and orphans adopted). */
    ORCHESTRATOR_RECONCILE_MS: envInt(30_000, 0, 86_400_000),
    /**
     * How long a shell replica that left the bus may take to come back before its sessions are failed:
     * a replica that restarts keeps its jails and adopts them at its next start (0: fail at once).
     */
    ORCHESTRATOR_SHELL_RESTART_GRACE_MS: envInt(120_000, 0, 86_400_000),
    /**
     * The warm pool: this many ready sessions (an empty workspace, the default sandbox) made ahead on
     * each replica, so that such a create is an assignment (0: none; docs/operations.md).
     */
    ORCHESTRATOR_POOL_SIZE: envInt(2, 0, 64),
    /**
     * More pool shapes, as JSON: `[{"size": 2, "sandbox": {"memoryMb": 2048, "network": "none"}}]`. A create
     * is served from a shape whose sandbox is exactly what the request's sandbox comes to.
     */
    ORCHESTRATOR_POOL_SHAPES: envJson(z.array(z.object({ size: z.number().int().min(0).max(64), sandbox: SandboxSpecV1 }).strict()), []),
    /** How often each project's TASKS.md is checked for edits (0: only on orchestrator.task.sync). */
    ORCHESTRATOR_TASKS_SYNC_MS: envInt(10_000, 0, 86_400_000),
  });
export type ServiceEnv = ReturnType<typeof loadServiceEnv>;
