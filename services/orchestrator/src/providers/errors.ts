import { APICallError } from 'ai';

/** How the chain reacts to a failed model call. */
export type FailureKind =
  /** Network error, 5xx, 429, 529 overloaded: try the next provider in the chain. */
  | 'failover'
  /** The prompt does not fit: shrink the context and retry the same provider. */
  | 'context-too-long'
  /** The run was interrupted. */
  | 'aborted'
  /** Anything else (bad key, bad request): also fail over, but do not count against the circuit. */
  | 'fatal';

const CONTEXT_PATTERNS = /context[_ ]length|maximum context|prompt is too long|too many tokens|context window|input is too long|exceeds the context/i;
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

export function classifyFailure(err: unknown): FailureKind {
  if (isAbort(err)) return 'aborted';
  const text = describe(err);
  if (CONTEXT_PATTERNS.test(text)) return 'context-too-long';
  const status = statusOf(err);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408 ? 'failover' : 'fatal';
  // No HTTP status: the connection failed or dropped.
  if (networkCode(err) || /fetch failed|socket|terminated|network|other side closed/i.test(text)) return 'failover';
  return 'fatal';
}

/**
 * A failed call's reason as a metric label (orchestrator_llm_call_failures_total): a fixed handful of
 * values whatever the provider says, from the same HTTP status and network checks as classifyFailure.
 */
export type FailureReason = 'context-too-long' | 'rate-limited' | 'server' | 'timeout' | 'auth' | 'client' | 'network' | 'other';

export function failureReason(err: unknown): FailureReason {
  const text = describe(err);
  if (CONTEXT_PATTERNS.test(text)) return 'context-too-long';
  const status = statusOf(err);
  if (status !== undefined) {
    if (status === 429) return 'rate-limited';
    if (status === 408) return 'timeout';
    if (status === 401 || status === 403) return 'auth';
    return status >= 500 ? 'server' : 'client';
  }
  if (networkCode(err) || /fetch failed|socket|terminated|network|other side closed/i.test(text)) return 'network';
  return 'other';
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'ResponseAborted' || /aborted/i.test(err.message) && !statusOf(err));
}

function statusOf(err: unknown): number | undefined {
  if (APICallError.isInstance(err)) return err.statusCode;
  return undefined;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

/** A short reason for the run record; never includes request headers (the key travels there). */
export function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    if (APICallError.isInstance(e)) {
      parts.push(`HTTP ${e.statusCode ?? '?'}: ${e.message}`);
      if (e.responseBody) parts.push(e.responseBody.slice(0, 300));
    } else if (e instanceof Error) parts.push(e.message);
    else parts.push(String(e));
  }
  return parts.join(' | ').slice(0, 1000);
}
