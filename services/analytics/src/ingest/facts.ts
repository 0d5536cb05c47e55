import { AppError, type EventPayload } from '@codeagent/contracts';
import { costOf } from './pricing';
import { dayOf, eventTime, weekOf } from './time';

// What analytics keeps of each event. It reads only the fields it needs, so a producer adding a
// field changes nothing here.

/** One event as it arrives: the envelope id (idempotency key), its routing key, payload and user. */
export interface IncomingEvent {
  id: string;
  name: string;
  payload: unknown;
  /** The envelope's metadata.user, used when the payload names no user. */
  user?: string;
  /** When analytics received it (ms); the fallback time when the payload carries none. */
  receivedAt: number;
}

/** Dimensions are '' when the event did not say (a database unique key cannot hold NULLs portably). */
export interface UsageFact {
  eventId: string;
  atMs: number;
  day: number;
  week: number;
  provider: string;
  model: string;
  role: string;
  session: string;
  user: string;
  project: string;
  run: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** False when neither the event nor the price table gave a price for a paid provider. */
  priced: boolean;
  /** Wall time of the model call (ms), when the event carried it. */
  durationMs?: number;
  /** Time to its first streamed part (ms), when the event carried it. */
  firstTokenMs?: number;
}

export interface CommandFact {
  eventId: string;
  atMs: number;
  day: number;
  week: number;
  session: string;
  user: string;
  exitCode: number;
  durationMs: number;
  timedOut: boolean;
}

/** A change to what is known of a session; events may arrive out of order, so each part is optional. */
export interface SessionChange {
  session: string;
  user?: string;
  project?: string;
  startedAtMs?: number;
  endedAtMs?: number;
  /** closed or failed once it ended. */
  outcome?: 'closed' | 'failed';
}

export interface AgentRunFact {
  eventId: string;
  run: string;
  session: string;
  project: string;
  status: string;
  atMs: number;
  day: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface TaskFact {
  eventId: string;
  task: string;
  atMs: number;
  day: number;
}

/** Everything one event contributes; most events contribute only to the per-name count. */
export interface Facts {
  eventId: string;
  name: string;
  atMs: number;
  day: number;
  usage?: UsageFact;
  command?: CommandFact;
  session?: SessionChange;
  agentRun?: AgentRunFact;
  task?: TaskFact;
}

/**
 * Identifiers and dimensions end up in primary keys (PostgreSQL refuses an index entry over ~2.7 kB)
 * and in report filters (at most 200 characters): a longer one is refused, not truncated into
 * another id. PostgreSQL's text and jsonb also refuse NUL and unpaired surrogates.
 */
const MAX_CHARS = 200;
const MAX_BYTES = 400;
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The value, or a VALIDATION_FAILED the bus dead-letters with this reason (retrying would not help). */
function key(event: string, field: string, v: string | undefined): string {
  if (v === undefined) return '';
  if (v.length > MAX_CHARS || Buffer.byteLength(v) > MAX_BYTES) {
    throw new AppError('VALIDATION_FAILED', `invalid ${event} payload for analytics: ${field} is longer than ${MAX_CHARS} characters (${MAX_BYTES} bytes)`);
  }
  if (UNSTORABLE.test(v)) throw new AppError('VALIDATION_FAILED', `invalid ${event} payload for analytics: ${field} holds a NUL or an unpaired surrogate`);
  return v;
}

// The session lifecycle (messages/session.ts); `session.event`, the high-volume log of a session, is
// not subscribed to (service.ts), and would only be counted. `ready` counts as a start too, in case `created` was lost; the earliest start wins.
const SESSION_START = new Set(['session.created', 'session.ready']);
const SESSION_LIFECYCLE = new Set([...SESSION_START, 'session.closed', 'session.failed']);

/**
 * Translates one event into the facts analytics keeps. Pure: no I/O, no clock. The bus has validated
 * the payload against its catalog schema, so it has the catalog's shape; throws VALIDATION_FAILED
 * for what analytics cannot key (see `key`).
 */
export function toFacts(e: IncomingEvent): Facts {
  const atMs = eventTime(e.payload, e.receivedAt);
  const day = dayOf(atMs);
  const k = (field: string, v: string | undefined) => key(e.name, field, v);
  const base: Facts = { eventId: k('envelope id', e.id), name: e.name, atMs, day };
  const week = weekOf(day);

  if (e.name === 'llm.usage') {
    const u = e.payload as EventPayload<'llm.usage'>;
    // Priced by the provider's kind: `provider` may be a user's name for a server (`lmstudio`).
    const { costUsd, priced } = costOf({ ...u, provider: u.providerKind ?? u.provider }, atMs);
    base.usage = {
      eventId: e.id, atMs, day, week,
      provider: k('provider', u.provider), model: k('model', u.model), role: k('role', u.role),
      session: k('sessionId', u.sessionId), user: k('user', u.user ?? e.user), project: k('projectId', u.projectId), run: k('runId', u.runId),
      inputTokens: u.inputTokens, outputTokens: u.outputTokens, costUsd, priced, durationMs: u.durationMs, firstTokenMs: u.firstTokenMs,
    };
    return base;
  }
  if (e.name === 'shell.command.completed') {
    const c = e.payload as EventPayload<'shell.command.completed'>;
    base.command = {
      eventId: e.id, atMs, day, week, session: k('sessionId', c.sessionId), user: k('user', c.user ?? e.user),
      exitCode: c.exitCode, durationMs: c.durationMs, timedOut: c.timedOut,
    };
    return base;
  }
  if (e.name === 'agent.run.completed') {
    const r = e.payload as EventPayload<'agent.run.completed'>;
    base.agentRun = {
      eventId: e.id, run: k('runId', r.runId), session: k('sessionId', r.sessionId), project: k('projectId', r.projectId), status: r.status, atMs, day,
      inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd,
    };
    return base;
  }
  if (SESSION_LIFECYCLE.has(e.name)) {
    const s = e.payload as EventPayload<'session.created'>;
    const change: SessionChange = { session: k('sessionId', s.sessionId), user: k('user', s.user ?? e.user) || undefined, project: k('projectId', s.projectId) || undefined };
    if (SESSION_START.has(e.name)) change.startedAtMs = atMs;
    if (e.name === 'session.failed' || s.status === 'failed') {
      change.endedAtMs = atMs;
      change.outcome = 'failed';
    } else if (e.name === 'session.closed' || s.status === 'closed') {
      change.endedAtMs = atMs;
      change.outcome = 'closed';
    }
    base.session = change;
    return base;
  }
  if (e.name === 'task.created' || e.name === 'task.updated') {
    // A completion is a task becoming done: created done, or updated to done from another status
    // (`previousStatus` is set only when the status changed; a later edit of a done task is no completion).
    const t = e.payload as EventPayload<'task.updated'>;
    if (t.status !== 'done') return base;
    if (e.name === 'task.updated' && (t.previousStatus === undefined || t.previousStatus === 'done')) return base;
    base.task = { eventId: e.id, task: k('taskId', t.taskId), atMs, day };
    return base;
  }
  return base;
}
