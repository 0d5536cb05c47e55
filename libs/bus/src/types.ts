import type {
  CommandName,
  CommandReply,
  CommandRequest,
  CommandsOf,
  EventName,
  EventPayload,
  Metadata,
  ServiceName,
} from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';

/** What a handler knows about the message it handles. */
export interface MessageContext {
  /** The envelope id: unique per message, the key of idempotency. */
  id: string;
  /** The routing key (catalog name). */
  name: string;
  metadata: Metadata;
  /**
   * The platform service that signed the message (`gateway`, `orchestrator`, ...). Every delivered
   * message is signed with the platform secret, so this is a platform service's word; check it where
   * it matters who relayed a user's `actor` (the gateway is the edge that authenticates users).
   */
  publisher: string;
  /** Whether the broker delivered it before (a retry or a redelivery after a lost ack). */
  redelivered: boolean;
  /** How many times the bus has retried it after a failure. */
  attempt: number;
  /** A child logger carrying the message id and name. */
  log: Logger;
}

export type CommandHandler<N extends CommandName> = (payload: CommandRequest<N>, ctx: MessageContext) => Promise<CommandReply<N>>;

/** Every command of service S must have a handler: a missing one is a compile error. */
export type CommandHandlers<S extends ServiceName> = { [N in CommandsOf<S>]: CommandHandler<N> };

export type EventHandler<N extends EventName> = (payload: EventPayload<N>, ctx: MessageContext) => Promise<void>;

/** The events a subscriber handles; the keys become the queue's bindings. */
export type EventHandlers = { [N in EventName]?: EventHandler<N> };

/** A handler of any event, for consumers of the whole stream (analytics, the gateway's fan-out). */
export type AnyEventHandler = <N extends EventName>(name: N, payload: EventPayload<N>, ctx: MessageContext) => Promise<void>;

export interface RequestOptions {
  /** How long to wait for the answer; defaults to the bus's `requestTimeoutMs`. */
  timeoutMs?: number;
  /** Send to this replica's own queue instead of the service's shared one. */
  instanceId?: string;
  /** The user on whose behalf the request is made. */
  user?: string;
  /** Overrides `metadata.client` (e.g. "cli" when the gateway forwards a CLI's request). */
  client?: string;
  /** The envelope id; given when the caller wants idempotent retries of the same request. */
  id?: string;
}

export interface PublishOptions {
  user?: string;
  client?: string;
  /** The envelope id; a stable id makes a republish of the same fact a no-op for consumers. */
  id?: string;
}
