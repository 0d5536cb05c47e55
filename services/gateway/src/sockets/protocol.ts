import { Envelope, makeEnvelope, type ErrorPayload, type MessageType } from '@codeagent/contracts';
import { z } from 'zod';

/** A command from a client: seed 003's envelope whose payload is `{command, args, context}`. */
export const ClientCommandPayload = z.object({
  /** `/subscribe`, `/unsubscribe`, `/exec`, `/input`, `/resize`, `/interrupt`, `/plan`, `/code`, `/review`, `/test`, `/doc`. */
  command: z.string().regex(/^\/[a-z-]{1,40}$/, 'a command such as /subscribe or /exec'),
  args: z.array(z.union([z.string().max(1_000_000), z.number()])).max(100).default([]),
  context: z
    .object({
      sessionId: z.string().min(1).max(200).optional(),
      projectId: z.string().min(1).max(200).optional(),
      /** For /subscribe: the last sequence number the client has; it gets every event after it. */
      since: z.number().int().min(0).optional(),
    })
    .passthrough()
    .default({}),
  /** For /subscribe, also accepted here. */
  since: z.number().int().min(0).optional(),
  /** For /exec: the command's timeout. */
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
});
export type ClientCommandPayload = z.infer<typeof ClientCommandPayload>;

export const ClientMessage = Envelope.extend({ type: z.literal('command'), payload: ClientCommandPayload });
export type ClientMessage = z.infer<typeof ClientMessage>;

/** One session event as the orchestrator stores and publishes it (`session.event`). */
export interface SessionEvent {
  sessionId: string;
  /** Per session, gapless, from 1. */
  seq: number;
  kind: string;
  data: unknown;
  at: string;
}

const META = { version: '1', client: 'gateway' } as const;

export function serverMessage<P>(type: MessageType, payload: P, id?: string) {
  return makeEnvelope(type, payload, META, id);
}

/** Output becomes `stream` messages, everything else `status`; both keep the session's seq. */
export function eventMessage(e: SessionEvent) {
  const d = (e.data ?? {}) as { stream?: unknown; data?: unknown; commandId?: unknown; encoding?: unknown };
  if (typeof d.stream === 'string' && typeof d.data === 'string') {
    return serverMessage('stream', {
      sessionId: e.sessionId,
      seq: e.seq,
      stream: d.stream,
      data: d.data,
      ...(typeof d.commandId === 'string' ? { commandId: d.commandId } : {}),
      ...(d.encoding === 'base64' ? { encoding: 'base64' } : {}),
    });
  }
  return serverMessage('status', { sessionId: e.sessionId, seq: e.seq, kind: e.kind, data: e.data, at: e.at });
}

export function errorMessage(error: ErrorPayload, id?: string) {
  return serverMessage('error', error, id);
}
