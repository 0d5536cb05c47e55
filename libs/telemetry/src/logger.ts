import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Field paths whose values never reach a log line, whatever is logged. */
export const REDACTED_PATHS = [
  'password', '*.password', 'apiKey', '*.apiKey', 'token', '*.token', 'secret', '*.secret',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'req.headers.cookie', 'key', '*.key', 'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken',
  'env.*_KEY', 'env.*_TOKEN', 'env.*_SECRET', 'env.*_PASSWORD',
  // Egress credentials (shell.open, libs/contracts EgressCredentialV1): their headers hold provider keys.
  'credentials[*].headers', '*.credentials[*].headers', 'opts.credentials[*].headers',
];

/**
 * The service's root logger: pino JSON, the active trace and span ids in every line, secrets
 * redacted. Components take `logger.child({ component })`.
 */
export function createLogger(service: string, options: LoggerOptions & { destination?: pino.DestinationStream } = {}): Logger {
  const { destination, ...rest } = options;
  const opts: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service, pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const ctx = trace.getActiveSpan()?.spanContext();
      return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
    },
    ...rest,
  };
  return destination ? pino(opts, destination) : pino(opts);
}
