import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import {
  AppError,
  catalog as defaultCatalog,
  Exchanges,
  Headers,
  makeEnvelope,
  Queues,
  type Catalog,
  type CommandName,
  type CommandReply,
  type CommandRequest,
  type EventName,
  type EventPayload,
  type MessageType,
  type ServiceName,
} from '@codeagent/contracts';
import { busMetrics, injectTraceHeaders, SpanKind, withSpan, type Logger } from '@codeagent/telemetry';
import { encodeBody } from './bytes';
import { addSetup, openConnection, watchChannel } from './connection';
import { Consumer, type ConsumerSpec } from './consumer';
import { BROKER_RETRY_AFTER_S, Requests } from './requests';
import { BusSigner } from './signing';
import { declareBaseTopology, type QueueType } from './topology';
import type { AnyEventHandler, CommandHandlers, MessageContext, EventHandlers, PublishOptions, RequestOptions } from './types';

type RawHandler = (payload: unknown, ctx: MessageContext) => Promise<unknown>;

export interface BusOptions {
  url: string;
  /** The name this process consumes and publishes as ("shell", "orchestrator", or a test's name). */
  service: string;
  /** This replica; names its own queue. */
  instanceId: string;
  logger: Logger;
  /** Unacknowledged messages per consumer. */
  prefetch?: number;
  /** Default wait for a reply. */
  requestTimeoutMs?: number;
  /** How long `connect` waits for the broker before failing with a clear error. */
  connectTimeoutMs?: number;
  heartbeatSeconds?: number;
  /** `quorum` for replicated queues on a cluster; `classic` (default) on one node. */
  queueType?: QueueType;
  /** The message catalog; the platform's own unless a test brings its own. */
  catalog?: Catalog;
  /**
   * The platform secret every message is signed and verified with (32+ characters, the same on every
   * service). Defaults to CODEAGENT_BUS_SECRET from the environment; connect fails without one.
   */
  secret?: string;
}

/** How an event consumer is set up. */
export interface SubscribeOptions {
  /** A queue shared by every replica (competing consumers; default) or one of this replica's own. */
  durable?: boolean;
  /** Handle one message at a time, in delivery order. */
  ordered?: boolean;
  /**
   * Called each time the queue is declared, bound and consumed: at start (false) and after every
   * reconnect (true). A replica's own queue is lost with the connection, and what was published
   * meanwhile with it: a consumer that must not miss anything reads it from its source here.
   */
  onAttached?: (reattached: boolean) => void;
  /**
   * A shared durable queue delivered to one consumer at a time (RabbitMQ's single active consumer):
   * the others stand by, and one of them takes over, with what was unacknowledged, when it goes. For
   * a consumer that must handle events in publish order whichever replica runs it.
   */
  singleActive?: boolean;
  /** Unacknowledged messages this consumer holds (default: the bus's `prefetch`); a batching consumer wants at least a batch. */
  prefetch?: number;
  /**
   * With `durable: false`: the replica's queue lives only as long as its connection, so the broker
   * keeps none of its messages on disk; for a consumer that catches up from a durable source after a
   * reconnect (`onAttached`), such as the gateway's live session logs.
   */
  transient?: boolean;
  /**
   * Per-session events (the catalog's `perSession`) of the sessions followed only (`follow` on what
   * subscribe returns), not of every session: a gateway replica receives the logs its own clients
   * follow, not every log of the platform.
   */
  followedSessionsOnly?: boolean;
}

/** What subscribe returns: the sessions whose per-session events reach the queue, with `followedSessionsOnly`. */
export interface EventSubscription {
  /**
   * Binds the queue to the session's per-session events; resolves once the broker has the binding, so
   * that what is published afterwards arrives. While the broker is away the binding is kept and made
   * on the reconnect (the caller catches up through `onAttached`).
   */
  follow(sessionId: string): Promise<void>;
  unfollow(sessionId: string): Promise<void>;
}

/**
 * The platform's only door to RabbitMQ: validated, traced, confirmed publishing; request/reply
 * over direct reply-to (requests.ts); consumers with manual acks, retries and dead-lettering
 * (consumer.ts); graceful drain.
 */
export class Bus {
  readonly service: string;
  readonly instanceId: string;
  readonly log: Logger;
  private readonly catalog: Catalog;
  private readonly requests: Requests;
  private readonly consumers: Consumer[] = [];
  private readonly channels: ChannelWrapper[] = [];
  private closing = false;

  private constructor(
    private readonly conn: AmqpConnectionManager,
    private readonly publisher: ChannelWrapper,
    requester: ChannelWrapper,
    private readonly opts: Required<Omit<BusOptions, 'catalog' | 'secret'>> & { catalog: Catalog },
    private readonly signer: BusSigner,
  ) {
    this.service = opts.service;
    this.instanceId = opts.instanceId;
    this.log = opts.logger;
    this.catalog = opts.catalog;
    this.requests = new Requests(requester, signer, opts.service, opts.logger);
    this.channels.push(publisher, requester);
  }

  static async connect(options: BusOptions): Promise<Bus> {
    const opts = {
      prefetch: 64,
      requestTimeoutMs: 10_000,
      connectTimeoutMs: 15_000,
      heartbeatSeconds: 5,
      queueType: 'classic' as const,
      catalog: defaultCatalog as Catalog,
      ...options,
    };
    // Before any connection: a service without the secret must not start at all.
    const signer = new BusSigner(options.secret ?? process.env.CODEAGENT_BUS_SECRET);
    const log = opts.logger.child({ component: 'bus' });
    const conn = await openConnection({
      url: opts.url,
      name: `${opts.service}:${opts.instanceId}`,
      log,
      connectTimeoutMs: opts.connectTimeoutMs,
      heartbeatSeconds: opts.heartbeatSeconds,
    });
    const publisher = watchChannel(
      conn.createChannel({
        name: 'publisher',
        confirm: true,
        publishTimeout: 30_000,
        setup: (ch: ConfirmChannel) => declareBaseTopology(ch, opts.queueType),
      }),
      log,
    );
    // Requests need no confirm: the reply (or its timeout) is the acknowledgement.
    const requester = watchChannel(conn.createChannel({ name: 'requester', confirm: false }), log);
    const { secret: _secret, ...rest } = opts;
    const bus = new Bus(conn, publisher, requester, { ...rest, logger: log }, signer);
    await bus.requests.attach();
    // Direct reply-to is bound to the channel: replies to requests sent before a disconnect never come.
    conn.on('disconnect', () => bus.requests.failAll('the connection to the broker was lost before the reply arrived'));
    // The requester is connected already: attach() waited for its setup.
    await publisher.waitForConnect();
    return bus;
  }

  /** Publishes an event and resolves once the broker has confirmed it. */
  async publish<N extends EventName>(name: N, payload: EventPayload<N>, options: PublishOptions = {}): Promise<void> {
    const def = this.catalog.events[name];
    if (!def) throw new AppError('VALIDATION_FAILED', `unknown event "${name}": add it to the catalog in libs/contracts`);
    const parsed = def.schema.safeParse(payload);
    if (!parsed.success) throw AppError.validation(parsed.error, `${name} payload`);
    const key = def.perSession ? sessionRoutingKey(name, (parsed.data as { sessionId: string }).sessionId) : name;
    await this.sendEnvelope(Exchanges.events, key, name, 'event', parsed.data, def.version, options);
  }

  /** Sends a command that expects no reply (fire and forget, but confirmed by the broker). */
  async send<N extends CommandName>(name: N, payload: CommandRequest<N>, options: RequestOptions = {}): Promise<void> {
    const def = this.commandDef(name);
    const parsed = def.request.safeParse(payload);
    if (!parsed.success) throw AppError.validation(parsed.error, `${name} request`);
    const [exchange, key] = this.route(name, def.service, options.instanceId);
    await this.sendEnvelope(exchange, key, name, 'command', parsed.data, def.version, options);
  }

  private async sendEnvelope(
    exchange: string,
    routingKey: string,
    name: string,
    type: MessageType,
    payload: unknown,
    version: number,
    options: PublishOptions,
  ): Promise<void> {
    await withSpan(`${name} publish`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.destination.name': name } }, async () => {
      const headers = injectTraceHeaders();
      const env = makeEnvelope(type, payload, this.metadata(version, headers, options), options.id);
      const { body, contentType } = encodeBody(env);
      await this.publisher.publish(exchange, routingKey, body, {
        persistent: true,
        contentType,
        messageId: env.id,
        type: name,
        headers: { ...headers, ...this.signer.headers(this.service, { messageId: env.id, type: name }, body) },
      });
      busMetrics.published().inc({ key: name });
    });
  }

  /**
   * Asks a service and waits for its answer. Rejects with SERVICE_TIMEOUT naming the service when
   * nobody answers in time, SERVICE_UNAVAILABLE when nothing consumes the command at all, or the
   * AppError the service replied with.
   */
  async request<N extends CommandName>(name: N, payload: CommandRequest<N>, options: RequestOptions = {}): Promise<CommandReply<N>> {
    const def = this.commandDef(name);
    const parsed = def.request.safeParse(payload);
    if (!parsed.success) throw AppError.validation(parsed.error, `${name} request`);
    if (this.closing) throw new AppError('SERVICE_UNAVAILABLE', 'the bus is closing', { retryable: true, details: { reason: 'bus_closing' } });
    // While the broker is away a request could only wait for the reconnect: the caller (a person at
    // the REST API, a socket client) is better served by an immediate, retryable refusal.
    if (!this.conn.isConnected()) {
      throw new AppError('SERVICE_UNAVAILABLE', `the message broker is unreachable; ${name} was not sent: try again shortly`, {
        retryable: true,
        details: { reason: 'broker_unreachable', service: def.service, command: name, retryAfterSeconds: BROKER_RETRY_AFTER_S },
      });
    }
    const timeoutMs = options.timeoutMs ?? this.opts.requestTimeoutMs;
    const [exchange, key] = this.route(name, def.service, options.instanceId);
    const started = process.hrtime.bigint();
    return withSpan(`${name} request`, { kind: SpanKind.CLIENT, attributes: { 'messaging.destination.name': name } }, async () => {
      const headers = injectTraceHeaders();
      const envelope = makeEnvelope('command', parsed.data, this.metadata(def.version, headers, options), options.id);
      let outcome = 'ok';
      try {
        const reply = await this.requests.ask({ name, service: def.service, exchange, routingKey: key, envelope, headers, timeoutMs });
        const checked = def.reply.safeParse(reply);
        if (!checked.success) {
          throw new AppError('INTERNAL', `${def.service} answered ${name} with a reply that fails its schema`, {
            details: { issues: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
          });
        }
        return checked.data as CommandReply<N>;
      } catch (err) {
        outcome = err instanceof AppError ? err.code : 'error';
        throw err;
      } finally {
        busMetrics.requestDuration().observe({ key: name, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    });
  }

  /**
   * Consumes the service's commands: from its shared queue (any replica) and from this replica's own
   * queue (`request(..., { instanceId })`). Every command of the service needs a handler.
   */
  async handleCommands<S extends ServiceName>(service: S, handlers: CommandHandlers<S>): Promise<void> {
    const names = Object.keys(this.catalog.commands).filter((n) => this.catalog.commands[n]?.service === service);
    const table = handlers as unknown as Record<string, RawHandler>;
    for (const n of names) if (!table[n]) throw new Error(`no handler for ${n}`);
    const base = { kind: 'command' as const, handlers: table };
    await this.addConsumer({ ...base, queue: Queues.commands(service), lifetime: 'shared', bindings: names.map((n) => [Exchanges.commands, n]) });
    await this.addConsumer({ ...base, queue: Queues.instance(service, this.instanceId), lifetime: 'connection', bindings: [] });
  }

  /**
   * Subscribes to some events. `durable` queues (the default) keep events while the consumer is
   * down and are shared by its replicas; a non-durable one is this replica's alone: it survives a
   * broker restart and is deleted by the broker some minutes after its replica is gone.
   */
  async subscribe(consumer: string, handlers: EventHandlers, opts: SubscribeOptions = {}): Promise<EventSubscription> {
    const table = handlers as unknown as Record<string, RawHandler>;
    const names = Object.keys(handlers);
    const perSession = names.filter((n) => this.catalog.events[n]?.perSession);
    const keys = opts.followedSessionsOnly ? names.filter((n) => !perSession.includes(n)) : names.map((n) => this.bindingKey(n));
    const c = await this.addEventConsumer(consumer, keys, { kind: 'event', handlers: table }, opts);
    return {
      follow: (sessionId) => Promise.all(perSession.map((n) => c.bind(Exchanges.events, sessionRoutingKey(n, sessionId)))).then(() => undefined),
      unfollow: (sessionId) => Promise.all(perSession.map((n) => c.unbind(Exchanges.events, sessionRoutingKey(n, sessionId)))).then(() => undefined),
    };
  }

  /**
   * Subscribes to every event of the catalog through one handler, or to every one but `except`:
   * then the queue is bound name by name (and an earlier catch-all binding is removed), so the
   * events left out never reach it.
   */
  async subscribeAll(consumer: string, handler: AnyEventHandler, opts: SubscribeOptions & { except?: EventName[] } = {}): Promise<void> {
    const { except, ...rest } = opts;
    const keys = except ? Object.keys(this.catalog.events).filter((n) => !except.includes(n as EventName)).map((n) => this.bindingKey(n)) : ['#'];
    await this.addEventConsumer(consumer, keys, { kind: 'event', any: handler as never, ...(except ? { unbindings: [[Exchanges.events, '#']] } : {}) }, rest);
  }

  /** The key that binds every message of an event: its name, or for a per-session event every session's. */
  private bindingKey(name: string): string {
    return this.catalog.events[name]?.perSession ? `${name}.*` : name;
  }

  private async addEventConsumer(
    consumer: string,
    keys: string[],
    spec: Pick<ConsumerSpec, 'kind' | 'handlers' | 'any' | 'unbindings'>,
    opts: SubscribeOptions,
  ): Promise<Consumer> {
    const durable = opts.durable ?? true;
    if (opts.singleActive && !durable) throw new Error('singleActive needs a durable (shared) queue');
    if (opts.transient && durable) throw new Error('a transient queue is a replica\'s own: durable must be false');
    // A transient queue has a name of its own: a broker refuses to redeclare a queue with other properties.
    const queue = durable ? Queues.events(consumer) : `${Queues.events(consumer)}.${this.instanceId}${opts.transient ? '.live' : ''}`;
    const lifetime = opts.singleActive ? 'single-active' : durable ? 'shared' : opts.transient ? 'connection' : 'replica';
    return this.addConsumer(
      { ...spec, queue, lifetime, ordered: opts.ordered, bindings: keys.map((k) => [Exchanges.events, k]) },
      opts.onAttached,
      opts.prefetch,
    );
  }

  private async addConsumer(spec: Omit<ConsumerSpec, 'prefetch' | 'queueType'>, onAttached?: (reattached: boolean) => void, prefetch = this.opts.prefetch): Promise<Consumer> {
    if (this.closing) throw new AppError('SERVICE_UNAVAILABLE', 'the bus is closing');
    const channel = watchChannel(this.conn.createChannel({ name: `consumer:${spec.queue}`, confirm: true }), this.log);
    this.channels.push(channel);
    const consumer = new Consumer(
      { ...spec, prefetch, queueType: this.opts.queueType },
      { catalog: this.catalog, publisher: this.publisher, log: this.log, service: this.service, signer: this.signer },
    );
    this.consumers.push(consumer);
    let attached = 0;
    await addSetup(
      channel,
      async (ch: ConfirmChannel) => {
        await consumer.attach(ch);
        const reattached = attached++ > 0;
        try {
          onAttached?.(reattached);
        } catch (err) {
          this.log.error({ err, queue: spec.queue }, 'onAttached failed');
        }
      },
      this.log,
    );
    return consumer;
  }

  /**
   * Stops consuming, waits for the handlers already running (up to `graceMs`), then closes the
   * connection. Messages not yet handled stay on the broker for another replica.
   */
  /**
   * Stops taking messages (every consumer cancelled) while publishing and replying go on: a stopping
   * service finishes or hands over its in-flight work before close(). Idempotent.
   */
  stopConsuming(): Promise<void> {
    // Bounded: with the broker away a cancel would otherwise wait for a reconnect that never comes.
    this.cancelled ??= within(Promise.all(this.consumers.map((c) => c.cancel())), STEP_MS);
    return this.cancelled;
  }
  private cancelled?: Promise<void>;

  async close(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Every step is bounded: with the broker away (or the vhost deleted) a cancel or a close would
    // otherwise wait for a reconnect that never comes, and the process would never exit.
    await this.stopConsuming();
    await within(Promise.all(this.consumers.map((c) => c.idle())), graceMs);
    this.requests.failAll('the bus closed before the reply arrived');
    await within(Promise.allSettled(this.channels.map((c) => c.close())), STEP_MS);
    await within(this.conn.close(), STEP_MS);
  }

  get isConnected(): boolean {
    return this.conn.isConnected();
  }

  private commandDef(name: string) {
    const def = this.catalog.commands[name];
    if (!def) throw new AppError('VALIDATION_FAILED', `unknown command "${name}": add it to the catalog in libs/contracts`);
    return def;
  }

  private route(name: string, service: string, instanceId?: string): [exchange: string, routingKey: string] {
    return instanceId ? ['', Queues.instance(service, instanceId)] : [Exchanges.commands, name];
  }

  private metadata(version: number, headers: Record<string, string>, o: PublishOptions) {
    return {
      version: String(version),
      client: o.client ?? this.service,
      ...(o.user ? { user: o.user } : {}),
      ...(headers[Headers.traceparent] ? { traceparent: headers[Headers.traceparent] } : {}),
      ...(headers[Headers.tracestate] ? { tracestate: headers[Headers.tracestate] } : {}),
    };
  }
}

/**
 * The routing key of a per-session event: its name, then the session id as one more word (a dot in an
 * id would make two words: it becomes an underscore, which at worst delivers another session's events
 * too, and readers go by the payload's sessionId).
 */
export function sessionRoutingKey(name: string, sessionId: string): string {
  return `${name}.${sessionId.replace(/\./g, '_')}`;
}

/** How long one step of close() may wait on the broker. */
const STEP_MS = 5_000;

/** Waits for `p` (its failure ignored) or `ms`, whichever comes first. */
export function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    p.then(
      () => (clearTimeout(t), resolve()),
      () => (clearTimeout(t), resolve()),
    );
  });
}
