import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/**
 * Runs a command in the session's persistent shell. A non-zero exit is a result, not an error. The
 * user for the audit record is the payload's, else the envelope's.
 */
export const shellExecHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.exec'> =>
  async (payload, ctx) =>
    registry.exec(payload.sessionId, {
      command: payload.command,
      // Reusing the envelope id keeps the command id stable if the same request is redelivered.
      commandId: payload.commandId ?? ctx.id,
      timeoutMs: payload.timeoutMs,
      silenceTimeoutMs: payload.silenceTimeoutMs,
      user: payload.user ?? ctx.metadata.user,
    });
