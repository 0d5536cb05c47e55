import { AppError, type ErrorCode } from '@codeagent/contracts';
import { z } from 'zod';

// The CI socket's wire format (seed 004 / API.md): one JSON object per line, both ways.
//   in:  {"content": "..."}            out: {"content": "...", "project": "..."}
//   in:  {"ping": true}                out: {"pong": true, "project": "..."}
//   in:  {"auth": "<token>"}           out: {"authenticated": true, "user": "...", "project": "..."}
//        (team mode, PROJECT_CI_AUTH=team: the first line of a connection; see the README)
//   any bad line                        out: {"error": {"code": "...", "message": "..."}}
// An optional `id` (string or number) on a request is echoed on its answer, for clients that keep
// several requests in flight on one connection (answers come back in request order either way).

const Id = z.union([z.string().max(200), z.number()]).optional();

export const ChatLine = z.object({
  /** What the user says; the model sees `[Project: <name>] <content>`. */
  content: z.string().min(1, 'content must not be empty'),
  id: Id,
});
export const PingLine = z.object({ ping: z.literal(true), id: Id });
export const AuthLine = z.object({
  /** An API key or access token of the platform's gateway, as REST takes it after `Bearer `. */
  auth: z.string().min(1).max(8192),
  id: Id,
});

export type ClientLine =
  | ({ kind: 'chat' } & z.infer<typeof ChatLine>)
  | ({ kind: 'ping' } & z.infer<typeof PingLine>)
  | ({ kind: 'auth' } & z.infer<typeof AuthLine>);

/** Parses one client line; throws AppError VALIDATION_FAILED with a sentence saying what is wrong. */
export function parseClientLine(line: string): ClientLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', `not JSON: ${(err as Error).message}; send one JSON object per line, e.g. {"content": "hello"}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('VALIDATION_FAILED', 'expected a JSON object such as {"content": "hello"} or {"ping": true}');
  }
  if ('auth' in value) {
    const a = AuthLine.safeParse(value);
    if (!a.success) throw AppError.validation(a.error, 'auth');
    return { kind: 'auth', ...a.data };
  }
  if ('ping' in value) {
    const p = PingLine.safeParse(value);
    if (!p.success) throw AppError.validation(p.error, 'ping');
    return { kind: 'ping', ...p.data };
  }
  const c = ChatLine.safeParse(value);
  if (!c.success) throw AppError.validation(c.error, 'message');
  return { kind: 'chat', ...c.data };
}

export function errorLine(code: ErrorCode, message: string, id?: string | number): Record<string, unknown> {
  return { error: { code, message }, ...(id === undefined ? {} : { id }) };
}

/** Maps anything thrown while answering a line to the error line the client gets (internals not leaked). */
export function toErrorLine(err: unknown, id?: string | number): Record<string, unknown> {
  const e = AppError.from(err);
  return errorLine(e.code, e.message, id);
}

/** Best effort at the id of a line that failed to parse, so the client can match the error to it. */
export function idOf(line: string): string | number | undefined {
  try {
    const v = JSON.parse(line) as { id?: unknown };
    return typeof v?.id === 'string' || typeof v?.id === 'number' ? v.id : undefined;
  } catch {
    return undefined;
  }
}
