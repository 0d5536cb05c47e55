import type { ClientMessageV1 } from '@codeagent/contracts';
import { context, extractTraceContext, SpanKind, SpanStatusCode, trace, tracer } from '@codeagent/telemetry';
import type { Principal } from '../auth/principal';

/** Keystrokes and window sizes: one span each would drown a trace viewer in terminal noise. */
const UNTRACED = new Set(['/input', '/resize']);

/**
 * A Socket.IO command is a SERVER span (`socket /exec`), child of the `traceparent` the client put in
 * the envelope's metadata when it sent one, as an HTTP request is: the bus requests the command makes
 * carry its context, so the orchestrator's database and model calls and the shell's jail exec join the
 * trace. The span ends when the command has answered (for /exec, once the command completed).
 */
export function traceCommand(msg: ClientMessageV1, who: Principal, run: () => Promise<void>): Promise<void> {
  const command = msg.payload.command;
  if (UNTRACED.has(command)) return run();
  const parent = extractTraceContext({ traceparent: msg.metadata.traceparent, tracestate: msg.metadata.tracestate });
  const sessionId = (msg.payload as { context?: { sessionId?: string } }).context?.sessionId;
  const span = tracer('codeagent-gateway-socket').startSpan(
    `socket ${command}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'rpc.system': 'socket.io', 'rpc.method': command, 'enduser.id': who.userId, ...(sessionId ? { 'codeagent.session.id': sessionId } : {}) },
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), run).then(
    () => span.end(),
    (err: Error) => {
      span.recordException(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err?.message });
      span.end();
      throw err;
    },
  );
}
