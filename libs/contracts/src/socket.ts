import { z } from 'zod';
import { Envelope, makeEnvelope, type Metadata } from './envelope';
import { ErrorPayload } from './errors';
import { AgentRunReplyV1 } from './messages/agent';
import { SessionInterruptReplyV1, SessionOkV1, SessionOutputEventV1, SessionStatusEventV1, type SessionBusEventV1, type SessionBusOutputDataV1, type SessionEventV1 } from './messages/session';
import { ExternalAgentNameV1, ExternalAgentScreenV1, ExternalAgentV1 } from './messages/external-agent';
import { ExecResultV1 } from './messages/shell';

// The Socket.IO protocol of the gateway (API.md "Socket.IO"): namespace `/v1`, every message both
// ways seed 003's envelope sent as the event `message`. The gateway parses what clients send with
// these schemas and builds what it sends from them; the CLI and the web dashboard parse what they get
// with them. Browser-safe: this file and what it imports use only zod (no node: modules).

/** The namespace clients connect to. */
export const SOCKET_NAMESPACE = '/v1';
/** The Socket.IO event every message travels as, both ways. */
export const SOCKET_EVENT = 'message';

const SessionId = z.string().min(1).max(200);
const Since = z.number().int().min(0);
const Arg = z.union([z.string().max(1_000_000), z.number()]);
const TimeoutMs = z.number().int().min(1).max(86_400_000);
/** `args` of a command that takes none (what is sent is ignored, as before this schema). */
const NoArgs = z.array(Arg).max(100).default([]);

/** `context` of a command that is about one session. */
const SessionContext = z.looseObject({
  sessionId: SessionId,
  /** For /subscribe: the last seq the client has; it gets every event after it. */
  since: Since.optional(),
});

/** The agent commands (seed 003's `/command [args] [prompt]`) and the role each runs. */
export const SOCKET_AGENT_COMMANDS = {
  '/plan': 'planning',
  '/code': 'coding',
  '/review': 'review',
  '/test': 'testing',
  '/doc': 'documentation',
} as const;
export type SocketAgentCommand = keyof typeof SOCKET_AGENT_COMMANDS;

const Resize = z.coerce.number().int().min(1, 'from 1 to 1000').max(1000, 'from 1 to 1000');

/** What a client sends, keyed on `command`; `args` and `context` as each command needs them. */
export const ClientCommandPayloadV1 = z.discriminatedUnion(
  'command',
  [
    z.object({
      command: z.literal('/subscribe'),
      args: NoArgs,
      context: SessionContext,
      /** The last seq the client has (also accepted in `context`); absent: live events only. */
      since: Since.optional(),
      /**
       * Output of this subscription as bytes: each `stream` message's `data` is a binary attachment
       * (a Buffer in Node, an ArrayBuffer in a browser) with no `encoding`, instead of text or base64.
       */
      binary: z.boolean().optional(),
    }),
    z.object({ command: z.literal('/unsubscribe'), args: NoArgs, context: SessionContext }),
    z.object({
      command: z.literal('/exec'),
      /** [the command line] */
      args: z.tuple([z.string().min(1, 'the command line').max(1_000_000)]),
      context: SessionContext,
      /** The command's timeout. */
      timeoutMs: TimeoutMs.optional(),
    }),
    z.object({ command: z.literal('/interrupt'), args: NoArgs, context: SessionContext }),
    z.object({
      command: z.literal('/input'),
      /** [the keystrokes] */
      args: z.tuple([z.string().max(1_000_000)]),
      context: SessionContext,
    }),
    z.object({
      command: z.literal('/resize'),
      /** [columns, rows], whole numbers from 1 to 1000 */
      args: z.tuple([Resize, Resize]),
      context: SessionContext,
    }),
    z.object({
      command: z.literal('/agent-keys'),
      /** [outside agent's name, literal text (optional when `keys` is given)] */
      args: z.union([z.tuple([ExternalAgentNameV1, z.string().min(1).max(100_000)]), z.tuple([ExternalAgentNameV1])]),
      context: SessionContext,
      /** tmux key names sent after the text, e.g. `["C-c"]`. */
      keys: z.array(z.string().min(1).max(100)).min(1).max(1000).optional(),
      /** Enter after them. */
      enter: z.boolean().optional(),
    }),
    z.object({
      command: z.literal('/agent-screen'),
      /** [outside agent's name] */
      args: z.tuple([ExternalAgentNameV1]),
      context: SessionContext,
      /** How many of the pane's last lines (default 50). */
      lines: z.number().int().min(1).max(100_000).optional(),
    }),
    z.object({ command: z.literal('/agent-status'), /** [outside agent's name] */ args: z.tuple([ExternalAgentNameV1]), context: SessionContext }),
    z.object({
      command: z.enum(Object.keys(SOCKET_AGENT_COMMANDS) as [SocketAgentCommand, ...SocketAgentCommand[]]),
      /** The prompt (joined with spaces). */
      args: z.array(Arg).min(1, 'a prompt: /command [args] <prompt>').max(100),
      context: SessionContext,
    }),
  ],
  { error: 'unknown command: use /subscribe, /unsubscribe, /exec, /input, /resize, /interrupt, /agent-keys, /agent-screen, /agent-status, /plan, /code, /review, /test or /doc' },
);
export type ClientCommandPayloadV1 = z.infer<typeof ClientCommandPayloadV1>;
/** What a client may write (defaults filled in by the parse). */
export type ClientCommandInputV1 = z.input<typeof ClientCommandPayloadV1>;
export type ClientCommandName = ClientCommandPayloadV1['command'];

/** A command from a client. */
export const ClientMessageV1 = Envelope.extend({ type: z.literal('command'), payload: ClientCommandPayloadV1 });
export type ClientMessageV1 = z.infer<typeof ClientMessageV1>;

/** Builds a command envelope (clients). */
export function clientMessage(payload: ClientCommandInputV1, metadata: Metadata, id?: string): Envelope<ClientCommandInputV1> {
  return makeEnvelope('command', payload, metadata, id);
}

/** Bytes as Socket.IO delivers a binary attachment: a Buffer (a Uint8Array) in Node, an ArrayBuffer in a browser. */
const Bytes = z.custom<Uint8Array | ArrayBuffer>((v) => v instanceof Uint8Array || v instanceof ArrayBuffer, 'bytes');

/** `stream`: one `output` event (API.md: `{sessionId, seq, stream, data}`), plus its command and encoding. */
export const StreamPayloadV1 = z.object({
  sessionId: z.string(),
  seq: z.number().int().positive(),
  stream: SessionOutputEventV1.shape.data.shape.stream,
  /** UTF-8 text, base64 when `encoding` says so, or bytes on a `/subscribe` with `binary: true`. */
  data: z.union([z.string(), Bytes]),
  /** The command it belongs to (absent for terminal output). */
  commandId: z.string().optional(),
  encoding: z.literal('base64').optional(),
});
export type StreamPayloadV1 = z.infer<typeof StreamPayloadV1>;

/** `status`: every other session event, as stored: `{sessionId, seq, kind, data, at}`, keyed on `kind`. */
export const StatusPayloadV1 = SessionStatusEventV1;
export type StatusPayloadV1 = z.infer<typeof StatusPayloadV1>;

/** The /exec response: the result without the output (the `stream` messages carried every byte). */
export const SocketExecResultV1 = ExecResultV1.omit({ stdout: true, stderr: true, truncated: true }).extend({ sessionId: z.string() });
export type SocketExecResultV1 = z.infer<typeof SocketExecResultV1>;

/** The `response` payload of each command. */
export const SocketResponsesV1 = {
  '/subscribe': z.object({ subscribed: z.string(), /** Events after this seq follow. */ since: z.number().int().nonnegative() }),
  '/unsubscribe': z.object({ unsubscribed: z.string(), /** The last seq sent (null: there was no subscription). */ lastSeq: z.number().int().nonnegative().nullable() }),
  '/exec': SocketExecResultV1,
  '/interrupt': SessionInterruptReplyV1,
  '/input': SessionOkV1,
  '/resize': SessionOkV1,
  '/plan': AgentRunReplyV1,
  '/code': AgentRunReplyV1,
  '/review': AgentRunReplyV1,
  '/test': AgentRunReplyV1,
  '/doc': AgentRunReplyV1,
  '/agent-keys': SessionOkV1,
  '/agent-screen': ExternalAgentScreenV1,
  '/agent-status': ExternalAgentV1,
} as const satisfies Record<ClientCommandName, z.ZodType>;
export type SocketResponseOf<C extends ClientCommandName> = z.infer<(typeof SocketResponsesV1)[C]>;
/** Any `response` payload (a client matches it to its command by the envelope id). */
export const ResponsePayloadV1 = z.union([
  SocketResponsesV1['/subscribe'],
  SocketResponsesV1['/unsubscribe'],
  SocketExecResultV1,
  SessionInterruptReplyV1,
  SessionOkV1,
  AgentRunReplyV1,
  ExternalAgentScreenV1,
  ExternalAgentV1,
]);

/** What the server sends, keyed on `type`. */
export const ServerMessageV1 = z.discriminatedUnion('type', [
  Envelope.extend({ type: z.literal('stream'), payload: StreamPayloadV1 }),
  Envelope.extend({ type: z.literal('status'), payload: StatusPayloadV1 }),
  Envelope.extend({ type: z.literal('response'), payload: ResponsePayloadV1 }),
  Envelope.extend({ type: z.literal('error'), payload: ErrorPayload }),
]);
export type ServerMessageV1 = z.infer<typeof ServerMessageV1>;
export type StreamMessageV1 = Extract<ServerMessageV1, { type: 'stream' }>;
export type StatusMessageV1 = Extract<ServerMessageV1, { type: 'status' }>;

/**
 * A session event as the server sends it: `output` as `stream`, every other kind as `status`. Output
 * goes as bytes given `toBytes` (the gateway's, on a binary subscription: a binary attachment), else as
 * text: `toText` turns output the bus carried as bytes into text (by default, base64).
 */
export function eventToServerMessage(
  e: SessionBusEventV1,
  metadata: Metadata,
  opts: { toBytes?: (d: SessionBusOutputDataV1) => Uint8Array; toText?: (d: SessionBusOutputDataV1) => { data: string; encoding?: 'base64' } } = {},
): StreamMessageV1 | StatusMessageV1 {
  if (e.kind === 'output') {
    const d = e.data;
    const asText = (): { data: string; encoding?: 'base64' } =>
      typeof d.data !== 'string' ? (opts.toText?.(d) ?? { data: bytesToBase64(d.data), encoding: 'base64' }) : d.encoding === 'base64' ? { data: d.data, encoding: 'base64' } : { data: d.data };
    const data = opts.toBytes ? { data: opts.toBytes(d) } : asText();
    const payload: StreamPayloadV1 = {
      sessionId: e.sessionId,
      seq: e.seq,
      stream: d.stream,
      ...data,
      ...(d.commandId !== undefined ? { commandId: d.commandId } : {}),
    };
    return makeEnvelope('stream', payload, metadata) as StreamMessageV1;
  }
  return makeEnvelope('status', e, metadata) as StatusMessageV1;
}

/** The session event a `stream` or `status` message carries (a `stream` has no `at`: the envelope's timestamp stands in). */
export function serverMessageToEvent(m: StreamMessageV1 | StatusMessageV1): SessionEventV1 {
  if (m.type === 'status') return m.payload;
  const p = m.payload;
  // Bytes (a binary subscription) become base64, as the log stores output that is not UTF-8.
  const text = typeof p.data === 'string' ? { data: p.data, ...(p.encoding ? { encoding: p.encoding } : {}) } : { data: bytesToBase64(p.data), encoding: 'base64' as const };
  return {
    sessionId: p.sessionId,
    seq: p.seq,
    kind: 'output',
    data: { stream: p.stream, ...text, ...(p.commandId !== undefined ? { commandId: p.commandId } : {}) },
    at: m.timestamp,
  };
}

/** Base64 of bytes, without Node's Buffer (this file also runs in browsers). */
export function bytesToBase64(data: Uint8Array | ArrayBuffer): string {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
