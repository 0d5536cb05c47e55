import { z } from 'zod';

/** The kinds of message of seed 003's protocol, plus `event` for facts published on the bus. */
export const MessageType = z.enum(['command', 'response', 'stream', 'status', 'error', 'event']);
export type MessageType = z.infer<typeof MessageType>;

/** Who sent a message, which schema version it follows and which trace it belongs to. */
export const Metadata = z.object({
  /** Version of the payload's schema, as in the catalog ("1", "2", ...). */
  version: z.string().min(1),
  /** What sent it: "cli", "web", "vscode", "mcp", or the name of a service. */
  client: z.string().min(1).optional(),
  /** The user on whose behalf it was sent; absent for the platform's own messages. */
  user: z.string().min(1).optional(),
  /** W3C trace context (https://www.w3.org/TR/trace-context/): `traceparent` header value. */
  traceparent: z.string().optional(),
  /** W3C trace context: `tracestate` header value. */
  tracestate: z.string().optional(),
});
export type Metadata = z.infer<typeof Metadata>;

/** Seed 003's envelope: every message on the bus and on client sockets is one of these. */
export const Envelope = z.object({
  /** Unique per message; consumers are idempotent on it, replies echo it. */
  id: z.string().min(1).max(200),
  /** What kind of message it is. */
  type: MessageType,
  /** When it was created, ISO 8601. */
  timestamp: z.iso.datetime({ offset: true }),
  /** The message itself; its schema depends on `type` and the routing key. */
  payload: z.unknown(),
  /** Version, sender, user and trace context. */
  metadata: Metadata,
});
export type Envelope<P = unknown> = Omit<z.infer<typeof Envelope>, 'payload'> & { payload: P };

/** Web Crypto's, so that this file (and the socket protocol) also runs in a browser. */
export function newMessageId(): string {
  return globalThis.crypto.randomUUID();
}

export function makeEnvelope<P>(
  type: MessageType,
  payload: P,
  metadata: Metadata,
  id: string = newMessageId(),
): Envelope<P> {
  return { id, type, timestamp: new Date().toISOString(), payload, metadata };
}
