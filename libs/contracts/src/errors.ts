import { z } from 'zod';

/**
 * Every error the platform reports, with whose fault it is and the HTTP status the gateway maps it
 * to. `user`: the caller can fix it. `ours`: the platform (or something it depends on) failed.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: { fault: 'user', status: 400, title: 'Invalid request' },
  UNAUTHENTICATED: { fault: 'user', status: 401, title: 'Authentication required' },
  FORBIDDEN: { fault: 'user', status: 403, title: 'Forbidden' },
  NOT_FOUND: { fault: 'user', status: 404, title: 'Not found' },
  CONFLICT: { fault: 'user', status: 409, title: 'Conflict' },
  INVALID_STATE: { fault: 'user', status: 409, title: 'Not possible in the current state' },
  PATH_OUTSIDE_WORKSPACE: { fault: 'user', status: 400, title: 'Path outside the workspace' },
  PAYLOAD_TOO_LARGE: { fault: 'user', status: 413, title: 'Too large' },
  LIMIT_REACHED: { fault: 'user', status: 429, title: 'Limit reached' },
  RATE_LIMITED: { fault: 'user', status: 429, title: 'Too many requests' },
  QUOTA_EXCEEDED: { fault: 'user', status: 507, title: 'Disk quota exceeded' },
  BUDGET_EXCEEDED: { fault: 'user', status: 402, title: 'Budget exceeded' },
  SERVICE_TIMEOUT: { fault: 'ours', status: 504, title: 'A service did not answer in time' },
  SERVICE_UNAVAILABLE: { fault: 'ours', status: 503, title: 'A service is unavailable' },
  SANDBOX_UNAVAILABLE: { fault: 'ours', status: 503, title: 'Sandboxes cannot be created on this host' },
  PROVIDER_FAILED: { fault: 'ours', status: 502, title: 'The model provider failed' },
  INTERNAL: { fault: 'ours', status: 500, title: 'Internal error' },
} as const satisfies Record<string, { fault: 'user' | 'ours'; status: number; title: string }>;

export type ErrorCode = keyof typeof ErrorCodes;
export const ErrorCode = z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]);

/** The payload of an `error` message, and of a failed reply on the bus. */
export const ErrorPayload = z.object({
  /** One of ErrorCodes. */
  code: ErrorCode,
  /** A sentence for a person: what went wrong and, where possible, what to do. */
  message: z.string(),
  /** Structured detail, e.g. the failing fields of a validation error. */
  details: z.record(z.string(), z.unknown()).optional(),
  /** Whether trying the same thing again later may succeed. */
  retryable: z.boolean().optional(),
});
export type ErrorPayload = z.infer<typeof ErrorPayload>;

/** The one error class of the platform: thrown in the middle, caught and mapped at the edges. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? false;
  }

  get fault(): 'user' | 'ours' {
    return ErrorCodes[this.code].fault;
  }

  get status(): number {
    return ErrorCodes[this.code].status;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, details: this.details, retryable: this.retryable };
  }

  static fromPayload(p: ErrorPayload): AppError {
    return new AppError(p.code, p.message, { details: p.details, retryable: p.retryable });
  }

  /** Wraps anything thrown into an AppError; unknown errors become INTERNAL without leaking internals. */
  static from(err: unknown): AppError {
    if (err instanceof AppError) return err;
    if (err instanceof z.ZodError) return AppError.validation(err);
    return new AppError('INTERNAL', 'internal error', { cause: err });
  }

  /** `prefix`: where the validated value sits in the request (e.g. `['settings']`), so paths name the request's field. */
  static validation(err: z.ZodError, what = 'message', prefix: readonly PropertyKey[] = []): AppError {
    const fields = err.issues.map((i) => ({ path: fieldPath([...prefix, ...i.path]), message: i.message }));
    const summary = fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; ');
    return new AppError('VALIDATION_FAILED', `invalid ${what}: ${summary}`, { details: { fields } });
  }
}

/** A field's path as people write it: `sandbox.network.allow[1]` (array indexes in brackets). */
export function fieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number' || (typeof seg === 'string' && /^\d+$/.test(seg))) out += `[${String(seg)}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/**
 * `details.reason` of a SERVICE_UNAVAILABLE, set by libs/bus: the code callers match on, never the
 * message text. `no_consumer`: the replica a request was sent to has no queue any more (it is gone);
 * `no_service`: no replica consumes the command; `broker_unreachable`: the bus is disconnected (the
 * error carries `details.retryAfterSeconds`); `bus_closing`: this process is shutting down;
 * `replica_restarting`: the shell replica holding the jail is restarting and keeps it (a command that
 * was running goes on; its end follows in the session's events).
 */
export type UnavailableReason = 'no_consumer' | 'no_service' | 'broker_unreachable' | 'bus_closing' | 'replica_restarting';

/** Whether `err` says the replica a request was addressed to is gone (not merely unreachable for now). */
export function isReplicaGone(err: unknown): boolean {
  return err instanceof AppError && err.code === 'SERVICE_UNAVAILABLE' && err.details?.reason === 'no_consumer';
}
