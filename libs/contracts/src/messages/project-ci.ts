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


// Seed 004's "forward a CI to a terminal": while a claim is held, a project's questions (from its socket
// and from `project-ci.chat`) go to the person (or outside agent) holding it instead of the model. One
// claim per project; it lives as long as its holder keeps asking for questions (a lease renewed by
// every `project-ci.answerer.next`), so a holder that dies leaves the project to the model again.

/** The claim id names the project-ci replica holding it after its first dot (later calls go there). */
const ClaimId = z.string().trim().min(3).max(300).regex(/^[0-9a-f-]{36}\./, 'a claim id from project-ci.answerer.claim');

export const ProjectCiAnswererClaimV1 = z.object({
  /** The project's name (case-insensitive) or its id. */
  project: z.string().trim().min(1).max(200),
  /** Who answers (the gateway's user id); only they may take questions, answer and release. */
  user_id: z.string().min(1).max(200),
});
export const ProjectCiAnswererClaimReplyV1 = z.object({
  claim_id: z.string(),
  project_id: z.string(),
  project_name: z.string(),
  ci_socket: z.string(),
  socket_port: z.number().int(),
  /** The claim ends this long after its holder last asked for questions (`project-ci.answerer.next`). */
  lease_ms: z.number().int().positive(),
});

/** A question waiting for the claim's holder. */
export const ProjectCiQuestionV1 = z.object({
  question_id: z.string(),
  /** As the client sent it (without the `[Project: ...]` prefix). */
  content: z.string(),
  /** Which door it came through. */
  via: z.enum(['socket', 'bus']),
  asked_at: z.string(),
});
export type ProjectCiQuestionV1 = z.infer<typeof ProjectCiQuestionV1>;

export const ProjectCiAnswererNextV1 = z.object({
  claim_id: ClaimId,
  user_id: z.string().min(1).max(200),
  /** How long to wait for a question before answering with none (the lease is renewed either way). */
  wait_ms: z.number().int().min(0).max(60_000),
});
export const ProjectCiAnswererNextReplyV1 = z.object({
  /** Questions not handed out before, oldest first. */
  questions: z.array(ProjectCiQuestionV1),
});

export const ProjectCiAnswerV1 = z.object({
  claim_id: ClaimId,
  user_id: z.string().min(1).max(200),
  question_id: z.string().min(1).max(200),
  content: z.string().min(1).max(1_000_000),
});
export const ProjectCiAnswerReplyV1 = z.object({ delivered: z.literal(true) });

export const ProjectCiAnswererReleaseV1 = z.object({
  claim_id: ClaimId,
  user_id: z.string().min(1).max(200),
});
export const ProjectCiAnswererReleaseReplyV1 = z.object({
  /** false: the claim had already ended (released, expired, or its project deleted). */
  released: z.boolean(),
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
  'project-ci.answerer.claim': command('project-ci', {
    request: ProjectCiAnswererClaimV1,
    reply: ProjectCiAnswererClaimReplyV1,
    summary: "take over answering a project's chat (its socket and project-ci.chat) instead of the model; CONFLICT while someone else holds it",
  }),
  'project-ci.answerer.next': command('project-ci', {
    request: ProjectCiAnswererNextV1,
    reply: ProjectCiAnswererNextReplyV1,
    summary: "the claim's new questions (waits up to wait_ms for one) and renews its lease; NOT_FOUND once the claim has ended",
  }),
  'project-ci.answerer.answer': command('project-ci', {
    request: ProjectCiAnswerV1,
    reply: ProjectCiAnswerReplyV1,
    summary: "the holder's answer to one question, delivered to whoever asked it; NOT_FOUND when it is no longer waiting",
  }),
  'project-ci.answerer.release': command('project-ci', {
    request: ProjectCiAnswererReleaseV1,
    reply: ProjectCiAnswererReleaseReplyV1,
    summary: "give a project's chat back to its model; questions still waiting are answered by the model",
  }),
} as const;

export const projectCiEvents = {
  'project-ci.started': event({ schema: ProjectCiStartedV1, summary: "a project's CI socket is listening" }),
  'project-ci.stopped': event({ schema: ProjectCiStoppedV1, summary: "a project's CI socket closed, with the reason" }),
} as const;
