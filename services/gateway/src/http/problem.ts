import { AppError, ErrorCodes, fieldPath, type ErrorCode } from '@codeagent/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** RFC 9457 problem details, as every error of the gateway is sent. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The error code of the platform (ErrorCodes), for programs. */
  code: string;
  /** For validation errors: each failing field, where it is (body, querystring, params) and why. */
  errors?: Array<{ in?: string; path: string; message: string }>;
  [extra: string]: unknown;
}

const TYPE_BASE = 'https://codeagent.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const slug = (code: string) => code.toLowerCase().replace(/_/g, '-');

/** An HTTP-only refusal that has no platform error code (501 for routes whose service contract is missing). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export function fromAppError(err: AppError): Problem {
  const spec = ErrorCodes[err.code];
  const problem: Problem = { type: TYPE_BASE + slug(err.code), title: spec.title, status: spec.status, detail: err.message, code: err.code };
  const details = err.details ?? {};
  if (err.code === 'VALIDATION_FAILED' && Array.isArray(details.fields)) {
    problem.errors = details.fields as Problem['errors'];
  }
  for (const [k, v] of Object.entries(details)) if (k !== 'fields' && !(k in problem)) problem[k] = v;
  if (err.retryable) problem.retryable = true;
  return problem;
}

export function makeProblem(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}): Problem {
  return fromAppError(new AppError(code, detail, { details: extra }));
}

/** Maps anything thrown in a route to a problem; unexpected errors become a 500 that leaks nothing. */
export function toProblem(err: unknown): { problem: Problem; unexpected: boolean } {
  if (err instanceof AppError) return { problem: fromAppError(err), unexpected: err.code === 'INTERNAL' };
  if (err instanceof HttpProblem) {
    return { problem: { type: TYPE_BASE + slug(err.code), title: err.title, status: err.status, detail: err.message, code: err.code, ...err.extra }, unexpected: false };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as FastifyError).validationContext;
    const errors = err.validation.map((v) => ({ in: where, path: fieldPath(v.instancePath.split('/').filter(Boolean)), message: v.message ?? 'invalid' }));
    const summary = errors.map((e) => `${e.in ?? ''}${e.path ? `.${e.path}` : ''}: ${e.message}`).join('; ');
    return { problem: { ...makeProblem('VALIDATION_FAILED', `invalid request: ${summary}`), errors }, unexpected: false };
  }
  const fe = err as FastifyError;
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: malformed JSON, empty body, unsupported media type, body too large...
    const code: ErrorCode = fe.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : fe.statusCode === 429 ? 'RATE_LIMITED' : fe.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED';
    const problem = makeProblem(code, fe.message, fe.code ? { fastifyCode: fe.code } : {});
    return { problem: { ...problem, status: fe.statusCode, title: fe.statusCode === 415 ? 'Unsupported media type' : problem.title }, unexpected: false };
  }
  return { problem: makeProblem('INTERNAL', 'internal error'), unexpected: true };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Fastify's error handler: one place that logs and maps. */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { problem, unexpected } = toProblem(err);
  if (unexpected) req.log.error({ err }, 'request failed');
  else if (problem.status >= 500) req.log.warn({ code: problem.code, detail: problem.detail }, 'service behind the route failed');
  if (problem.status === 401 || problem.status === 403) req.log.warn({ status: problem.status, detail: problem.detail, url: req.url }, 'refused');
  // A 503 is always worth retrying later: say when (the bus's hint, else a short default).
  if (problem.status === 503) reply.header('retry-after', String(typeof problem.retryAfterSeconds === 'number' ? problem.retryAfterSeconds : 2));
  return sendProblem(reply, problem);
}
