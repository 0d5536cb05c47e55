import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AppError, Envelope, Exchanges, Headers, makeEnvelope, UNAUTHENTICATED_REASON, type Catalog, type Metadata } from '@codeagent/contracts';
import { busMetrics, extractTraceContext, SpanKind, withSpan, type Logger } from '@codeagent/telemetry';
import { decodeBody } from './bytes';
import { RecentIds } from './dedupe';
import { RefusalLog } from './refusals';
import type { BusSigner, RefusalReason } from './signing';
import { declareQueue, retryExchange, RETRY_DELAYS_MS, type QueueLifetime, type QueueType } from './topology';
import type { MessageContext } from './types';

type Handler = (payload: unknown, ctx: MessageContext) => Promise<unknown>;

export interface ConsumerSpec {
  kind: 'command' | 'event';
  queue: string;
  lifetime: QueueLifetime;
  /** [exchange, routing key] pairs the queue is bound with. */
  bindings: [string, string][];
  /** Pairs an earlier version of this consumer bound its (durable) queue with, removed at attach. */
  unbindings?: [string, string][];
  handlers?: Record<string, Handler>;
  /** One handler for every message (subscribeAll). */
  any?: (name: string, payload: unknown, ctx: MessageContext) => Promise<void>;
  /** Handle one message at a time, in delivery order. */
  ordered?: boolean;
  prefetch: number;
  queueType: QueueType;
}

interface Deps {
  catalog: Catalog;
  publisher: ChannelWrapper;
  log: Logger;
  service: string;
  signer: BusSigner;
}

/** Why a message cannot be handled at all: it goes straight to the dead-letter queue. */
class Unhandleable extends Error {}

/**
 * One queue's consumer. Each delivery is authenticated (signed by a platform service, or
 * dead-lettered as `unauthenticated`), parsed, validated against the catalog, de-duplicated on the
 * envelope id, handled in a span continuing the sender's trace, then acknowledged; a failure is
 * retried with back-off (events and fire-and-forget commands) or dead-lettered with the reason.
 * A retry republishes the same bytes and signed properties, so it keeps the original signature and
 * publisher: a gateway's command retried by the orchestrator is still the gateway's.
 */
export class Consumer {
  private channel?: ConfirmChannel;
  private consumerTag?: string;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly recent = new RecentIds();
  private chain: Promise<void> = Promise.resolve();
  private cancelled = false;
  private readonly refusals: RefusalLog;

  constructor(
    private readonly spec: ConsumerSpec,
    private readonly deps: Deps,
  ) {
    this.refusals = new RefusalLog(deps.log);
  }

  /** The channel setup: runs on first connect and again after every reconnect. */
  async attach(ch: ConfirmChannel): Promise<void> {
    if (this.cancelled) return;
    await declareQueue(ch, this.spec.queue, { lifetime: this.spec.lifetime, queueType: this.spec.queueType });
    // From here a bind() binds on this channel itself, and one made meanwhile joins the loop below.
    this.channel = ch;
    for (const [exchange, key] of this.spec.bindings) await ch.bindQueue(this.spec.queue, exchange, key);
    for (const [exchange, key] of this.spec.unbindings ?? []) await ch.unbindQueue(this.spec.queue, exchange, key);
    await ch.prefetch(this.spec.prefetch);
    const { consumerTag } = await ch.consume(this.spec.queue, (msg) => {
      if (!msg) return;
      const run = () => this.handle(ch, msg);
      const p = this.spec.ordered ? (this.chain = this.chain.then(run)) : run();
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    });
    this.consumerTag = consumerTag;
  }

  /**
   * Adds a binding: made now when the channel is up (resolving once the broker has it), and again by
   * every later attach. While the broker is away it waits for the attach: what was published
   * meanwhile is lost to this queue either way, and the consumer's onAttached catches up.
   */
  async bind(exchange: string, key: string): Promise<void> {
    if (!this.spec.bindings.some(([e, k]) => e === exchange && k === key)) this.spec.bindings.push([exchange, key]);
    try {
      await this.channel?.bindQueue(this.spec.queue, exchange, key);
    } catch (err) {
      this.deps.log.warn({ queue: this.spec.queue, key, err: (err as Error).message }, 'binding deferred to the reconnect');
    }
  }

  async unbind(exchange: string, key: string): Promise<void> {
    const i = this.spec.bindings.findIndex(([e, k]) => e === exchange && k === key);
    if (i >= 0) this.spec.bindings.splice(i, 1);
    try {
      await this.channel?.unbindQueue(this.spec.queue, exchange, key);
    } catch {
      /* the channel is gone: the next attach binds only what is left */
    }
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    if (this.channel && this.consumerTag) await this.channel.cancel(this.consumerTag).catch(() => undefined);
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async handle(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const name = (msg.properties.type as string | undefined) ?? msg.fields.routingKey;
    // Before the body is even parsed: what a platform service did not sign is never handled.
    const auth = this.deps.signer.verify(msg.properties.headers, msg.properties, msg.content);
    if (!auth.ok) return this.refuse(ch, msg, name, auth.reason);
    const attempt = Number(msg.properties.headers?.[Headers.retryCount] ?? 0);
    let env: Envelope | undefined;
    try {
      env = this.parse(msg);
      const payload = this.validate(name, env);
      if (this.recent.has(env.id)) {
        this.ack(ch, msg);
        return;
      }
      const handler = this.spec.any ? (p: unknown, c: MessageContext) => this.spec.any!(name, p, c) : this.spec.handlers?.[name];
      if (!handler) throw new Unhandleable(`no handler for ${name} on ${this.spec.queue}`);
      const parentLog = this.deps.log;
      const msgId = env.id;
      let log: Logger | undefined;
      const ctx: MessageContext = {
        id: env.id,
        name,
        metadata: env.metadata as Metadata,
        publisher: auth.publisher,
        redelivered: msg.fields.redelivered || attempt > 0,
        attempt,
        // Made when a handler logs (few do): a child logger with redaction costs more than many handlers.
        get log() {
          return (log ??= parentLog.child({ msgId, msg: name }));
        },
      };
      const started = process.hrtime.bigint();
      const result = await withSpan(
        `${name} process`,
        { kind: SpanKind.CONSUMER, parent: extractTraceContext(msg.properties.headers), attributes: { 'messaging.destination.name': name } },
        () => handler(payload, ctx),
      );
      busMetrics.handlerDuration().observe({ key: name }, Number(process.hrtime.bigint() - started) / 1e9);
      if (msg.properties.replyTo) this.reply(ch, msg, env, 'response', result ?? {});
      this.recent.add(env.id);
      busMetrics.consumed().inc({ key: name });
      this.ack(ch, msg);
    } catch (err) {
      await this.fail(ch, msg, name, attempt, env, err);
    }
  }

  /**
   * Dead-letters a message that is not signed by a platform service, without retry and without an
   * answer (a forger learns nothing, and gets no signed reply to reuse). Its routing key and claimed
   * publisher are logged; its body, which nothing has authenticated, is not.
   */
  private async refuse(ch: ConfirmChannel, msg: ConsumeMessage, name: string, reason: RefusalReason): Promise<void> {
    busMetrics.unauthenticated().inc({ kind: this.spec.kind, reason });
    const claimed = msg.properties.headers?.[Headers.publisher];
    this.refusals.refused({
      queue: this.spec.queue,
      exchange: msg.fields.exchange,
      routingKey: msg.fields.routingKey,
      claimedPublisher: typeof claimed === 'string' ? claimed : undefined,
      reason,
    });
    // The metric label must stay one of ours whatever type a forger wrote.
    const known = Object.hasOwn(this.deps.catalog.commands, name) || Object.hasOwn(this.deps.catalog.events, name);
    try {
      await this.deadLetter(msg, known ? name : 'unknown', UNAUTHENTICATED_REASON);
      this.ack(ch, msg);
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'could not dead-letter an unauthenticated message; returning it to the queue');
      try {
        ch.nack(msg, false, true);
      } catch {
        /* channel already gone: the broker requeues it */
      }
    }
  }

  private parse(msg: ConsumeMessage): Envelope {
    let raw: unknown;
    try {
      raw = decodeBody(msg.content, msg.properties.contentType as string | undefined);
    } catch (err) {
      throw new Unhandleable(err instanceof SyntaxError ? 'body is not JSON' : `body is not a framed message: ${(err as Error).message}`);
    }
    const env = Envelope.safeParse(raw);
    if (!env.success) throw new Unhandleable(`not an envelope: ${AppError.validation(env.error).message}`);
    return env.data as Envelope;
  }

  private validate(name: string, env: Envelope): unknown {
    const def = this.spec.kind === 'command' ? this.deps.catalog.commands[name] : this.deps.catalog.events[name];
    if (!def) throw new Unhandleable(`"${name}" is not in the catalog`);
    const schema = 'schema' in def ? def.schema : def.request;
    const parsed = schema.safeParse(env.payload);
    if (!parsed.success) throw AppError.validation(parsed.error, `${name} payload`);
    return parsed.data;
  }

  private async fail(ch: ConfirmChannel, msg: ConsumeMessage, name: string, attempt: number, env: Envelope | undefined, err: unknown): Promise<void> {
    busMetrics.failed().inc({ key: name });
    const appErr = err instanceof Unhandleable ? new AppError('VALIDATION_FAILED', err.message) : AppError.from(err);
    const log = this.deps.log.child({ msgId: env?.id, msg: name, queue: this.spec.queue });
    try {
      if (msg.properties.replyTo) {
        // Someone is waiting: answer now. Only our own faults are kept for inspection.
        this.reply(ch, msg, env, 'error', appErr.toPayload());
        if (appErr.code === 'VALIDATION_FAILED' || appErr.fault === 'ours') {
          await this.deadLetter(msg, name, reasonOf(appErr, err));
        }
        if (appErr.fault === 'ours') log.error({ err }, 'command failed');
      } else if ((appErr.retryable || appErr.code === 'INTERNAL') && attempt < RETRY_DELAYS_MS.length && !(err instanceof Unhandleable) && appErr.code !== 'VALIDATION_FAILED') {
        const delay = RETRY_DELAYS_MS[attempt]!;
        log.warn({ err: appErr.message, attempt: attempt + 1, delayMs: delay }, 'handler failed; will retry');
        await this.deps.publisher.publish(retryExchange(delay), this.spec.queue, msg.content, {
          ...msg.properties,
          headers: { ...msg.properties.headers, [Headers.retryCount]: attempt + 1 },
          persistent: true,
        });
      } else {
        log.error({ err: appErr.message, attempt }, 'message dead-lettered');
        await this.deadLetter(msg, name, attempt >= RETRY_DELAYS_MS.length ? `retries exhausted: ${reasonOf(appErr, err)}` : reasonOf(appErr, err));
      }
      this.ack(ch, msg);
    } catch (publishErr) {
      // Could not park it anywhere: leave it with the broker, which redelivers it.
      log.error({ err: (publishErr as Error).message }, 'could not retry or dead-letter; returning the message to the queue');
      try {
        ch.nack(msg, false, true);
      } catch {
        /* channel already gone: the broker requeues it */
      }
    }
  }

  private async deadLetter(msg: ConsumeMessage, name: string, reason: string): Promise<void> {
    await this.deps.publisher.publish(Exchanges.deadLetter, name, msg.content, {
      ...msg.properties,
      expiration: undefined,
      headers: {
        ...msg.properties.headers,
        [Headers.deathReason]: reason.slice(0, 2000),
        [Headers.deathService]: this.deps.service,
        'x-original-exchange': msg.fields.exchange,
        'x-original-routing-key': msg.fields.routingKey,
        'x-original-queue': this.spec.queue,
      },
      persistent: true,
    });
    const label = reason === UNAUTHENTICATED_REASON ? UNAUTHENTICATED_REASON : reason.startsWith('invalid') ? 'invalid' : 'failed';
    busMetrics.deadLettered().inc({ key: name, reason: label });
  }

  private reply(ch: ConfirmChannel, msg: ConsumeMessage, req: Envelope | undefined, type: 'response' | 'error', payload: unknown): void {
    const env = makeEnvelope(type, payload, { version: req?.metadata.version ?? '1', client: this.deps.service });
    const body = Buffer.from(JSON.stringify(env));
    const correlationId = (msg.properties.correlationId as string | undefined) ?? req?.id;
    try {
      ch.sendToQueue(msg.properties.replyTo as string, body, {
        correlationId,
        contentType: 'application/json',
        messageId: env.id,
        type,
        headers: this.deps.signer.headers(this.deps.service, { messageId: env.id, type, correlationId }, body),
      });
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'could not send reply; the requester will time out');
    }
  }

  /** Acks on the channel that delivered; after a reconnect that channel is gone and the broker redelivers. */
  private ack(ch: ConfirmChannel, msg: ConsumeMessage): void {
    if (ch !== this.channel) return;
    try {
      ch.ack(msg);
    } catch {
      /* channel closed between delivery and ack: the broker redelivers, dedupe or idempotent handlers absorb it */
    }
  }
}

function reasonOf(appErr: AppError, original: unknown): string {
  if (appErr.code === 'INTERNAL' && original instanceof Error) return `${original.name}: ${original.message}`;
  return appErr.message;
}
