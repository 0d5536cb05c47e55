import type { CommandHandler } from '@codeagent/bus';
import { SpanKind, withSpan } from '@codeagent/telemetry';
import type { HandlerDeps } from './deps';

/**
 * Runs a command in the session's persistent shell. A non-zero exit is a result, not an error. The
 * user for the audit record is the payload's, else the envelope's. The run in the jail is a span of
 * its own (`jail exec`, with the session, exit code, duration and whether it timed out), under the
 * bus handler's span and so in the trace of the request that asked for it.
 */
export const shellExecHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.exec'> =>
  (payload, ctx) =>
    withSpan('jail exec', { kind: SpanKind.INTERNAL, attributes: { 'codeagent.session.id': payload.sessionId } }, async (span) => {
      const r = await registry.exec(payload.sessionId, {
        command: payload.command,
        // Reusing the envelope id keeps the command id stable if the same request is redelivered.
        commandId: payload.commandId ?? ctx.id,
        timeoutMs: payload.timeoutMs,
        silenceTimeoutMs: payload.silenceTimeoutMs,
        user: payload.user ?? ctx.metadata.user,
      });
      span.setAttributes({ 'process.exit.code': r.exitCode, 'codeagent.command.duration_ms': r.durationMs, 'codeagent.command.timed_out': r.timedOut });
      return r;
    });
