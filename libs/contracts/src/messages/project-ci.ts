import { z } from 'zod';
import { command, event } from '../define';

// Project CIs (seed 004, "every CI is a socket"). Owned by services/project-ci: one newline-delimited
// JSON socket per managed project on 127.0.0.1:(PROJECT_CI_PORT_BASE + project index), started on
// `project.created`, closed on `project.deleted`. `project-ci.chat` (behind the gateway's
// `POST /api/projects/chat`) and the socket are two doors to the same per-project conversation.
// Field names are snake_case because seed 004's HTTP body and registry entries are.

/** Where a CI is in its life. */
export const ProjectCiStatusV1 = z.enum([
  /** Binding its port. */
  'starting',
  /** Listening and answering pings. */
  'running',
  /** Missed a health ping; it is restarted after a few misses. */
  'unhealthy',
  /** Its port (base + index) is held by another process; it is retried, never moved to another port. */
  'port_in_use',
  /** Another project of this registry already has the same port (same index): refused, not moved. */
  'conflict',
  /** Closed (project deleted, or the service is stopping). */
  'stopped',
]);
export type ProjectCiStatusV1 = z.infer<typeof ProjectCiStatusV1>;

/** One entry of the project CI registry. */
export const ProjectCiV1 = z.object({
  /** The project's id (the orchestrator's). */
  project_id: z.string(),
  /** The project's name, as injected in `[Project: <name>]`. */
  project_name: z.string(),
  /** The CI's name, e.g. `project-claude-code-ai`. */
  ci_socket: z.string(),
  /** TCP port on 127.0.0.1: the service's base + the project's index. */
  socket_port: z.number().int().min(1).max(65535),
  /** The project's stable small index (its port's offset from the base). */
  index: z.number().int().nonnegative(),
  status: ProjectCiStatusV1,
  /** Why it is not running, in a sentence (port taken, conflict, ...). */
  status_reason: z.string().optional(),
  /** The provider the project's CI uses (absent: the orchestrator's default). */
  provider: z.string().optional(),
  /** The model the project's CI uses (absent: the provider's default). */
  model: z.string().optional(),
  /** When the CI last answered anything (a chat reply or a health ping), ISO 8601; null if never. */
  last_response_at: z.string().nullable(),
  /** Round-trip of its last successful health ping, in milliseconds; null if never pinged. */
  last_ping_ms: z.number().nonnegative().nullable(),
  /** Messages currently kept in its conversation history. */
  history_messages: z.number().int().nonnegative(),
});
export type ProjectCiV1 = z.infer<typeof ProjectCiV1>;

/** Seed 004's `POST /api/projects/chat` body. */
export const ProjectCiChatV1 = z.object({
  /** The project's name (case-insensitive) or its id. */
  project_name: z.string().trim().min(1).max(200),
  /** What the user says; the model sees `[Project: <name>] <message>`. */
  message: z.string().min(1).max(1_000_000),
});
export type ProjectCiChatV1 = z.infer<typeof ProjectCiChatV1>;

/** Seed 004's `POST /api/projects/chat` answer. */
export const ProjectCiChatReplyV1 = z.object({
  /** The model's answer. */
  response: z.string(),
  /** The project's name. */
  project_name: z.string(),
  /** The CI's name, e.g. `project-claude-code-ai`. */
  ci_socket: z.string(),
  /** The CI's TCP port on 127.0.0.1 (the same conversation is reachable there). */
  socket_port: z.number().int(),
  /** The provider and model that answered. */
  provider: z.string().optional(),
  model: z.string().optional(),
});
export type ProjectCiChatReplyV1 = z.infer<typeof ProjectCiChatReplyV1>;

export const ProjectCiListV1 = z.object({}).strict();
export const ProjectCiListReplyV1 = z.object({ cis: z.array(ProjectCiV1) });

/** One CI, by project id or name (case-insensitive). */
export const ProjectCiGetV1 = z.object({ project: z.string().trim().min(1).max(200) });

export const ProjectCiHistoryV1 = z.object({
  /** The project's name (case-insensitive) or its id. */
  project: z.string().trim().min(1).max(200),
  /** The newest this many messages (default: all that are kept). */
  limit: z.number().int().min(1).max(1000).optional(),
});
export const ProjectCiHistoryReplyV1 = z.object({
  project_name: z.string(),
  messages: z.array(
    z.object({
      role: z.enum(['user', 'assistant']),
      /** For user messages, as the user sent it (without the `[Project: ...]` prefix). */
      content: z.string(),
      /** Which door it came through. */
      via: z.enum(['socket', 'bus']),
      at: z.string(),
    }),
  ),
});

/** A CI started listening (or came back after a restart). */
export const ProjectCiStartedV1 = z.object({
  project_id: z.string(),
  project_name: z.string(),
  ci_socket: z.string(),
  socket_port: z.number().int(),
});
/** A CI stopped listening, with why. */
export const ProjectCiStoppedV1 = z.object({
  project_id: z.string(),
  project_name: z.string(),
  socket_port: z.number().int(),
  /** `deleted` (its project went), `port_in_use`, `conflict`, `unhealthy` (being restarted). */
  reason: z.enum(['deleted', 'port_in_use', 'conflict', 'unhealthy']),
});

export const projectCiCommands = {
  'project-ci.chat': command('project-ci', {
    request: ProjectCiChatV1,
    reply: ProjectCiChatReplyV1,
    summary: "seed 004's projects chat: one message to a project's CI, answered with the project's recent conversation as context",
  }),
  'project-ci.list': command('project-ci', {
    request: ProjectCiListV1,
    reply: ProjectCiListReplyV1,
    summary: 'the project CI registry: each CI with its status, port and last response time',
  }),
  'project-ci.get': command('project-ci', {
    request: ProjectCiGetV1,
    reply: ProjectCiV1,
    summary: "one project's CI (NOT_FOUND when the project has none)",
  }),
  'project-ci.history': command('project-ci', {
    request: ProjectCiHistoryV1,
    reply: ProjectCiHistoryReplyV1,
    summary: "a project's kept conversation, oldest first, from both doors (socket and bus)",
  }),
} as const;

export const projectCiEvents = {
  'project-ci.started': event({ schema: ProjectCiStartedV1, summary: "a project's CI socket is listening" }),
  'project-ci.stopped': event({ schema: ProjectCiStoppedV1, summary: "a project's CI socket closed, with the reason" }),
} as const;
