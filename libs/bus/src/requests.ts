import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AppError, Envelope, ErrorPayload, UNAUTHENTICATED_REASON } from '@codeagent/contracts';
import { busMetrics, type Logger } from '@codeagent/telemetry';
import { addSetup } from './connection';
import type { BusSigner } from './signing';

/** RabbitMQ's direct reply-to pseudo-queue: replies come back on the requesting channel, no queue declared. */
const REPLY_TO = 'amq.rabbitmq.reply-to';

/** What a caller refused while the broker is unreachable is told to wait before trying again. */
export const BROKER_RETRY_AFTER_S = 2;

interface Pending {
  name: string;
  service: string;
  resolve: (payload: unknown) => void;
  reject: (err: AppError) => void;
  timer: NodeJS.Timeout;
}

/** One request on its way: the command's name, the service it is for, where it goes and how long to wait. */
export interface Ask {
  name: string;
  service: string;
  exchange: string;
  routingKey: string;
  envelope: Envelope;
  headers: Record<string, string>;
  timeoutMs: number;
}

/**
 * Request/reply over direct reply-to, on the bus's requester channel: the requests waiting for an
 * answer, keyed by envelope id (the correlation id), and what comes back on that channel: signed
 * replies, and requests the broker returned because no queue took them (a replica that is gone, a
 * service nobody runs). Direct reply-to is bound to the channel, so a lost connection fails every
 * request waiting (`failAll`).
 */
export class Requests {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly channel: ChannelWrapper,
    private readonly signer: BusSigner,
    /** The asking service, as its signature names it. */
    private readonly service: string,
    private readonly log: Logger,
  ) {}

  /** Listens on the channel (again after every reconnect) for replies and returned requests. */
  async attach(): Promise<void> {
    await addSetup(
      this.channel,
      async (ch: ConfirmChannel) => {
        ch.on('return', (msg: ConsumeMessage) => this.onReturned(msg));
        await ch.consume(REPLY_TO, (msg) => msg && this.onReply(msg), { noAck: true });
      },
      this.log,
    );
  }

  /** Sends the request and resolves with the answer's payload; rejects with the error it answered, or on timeout. */
  async ask(a: Ask): Promise<unknown> {
    const id = a.envelope.id;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new AppError('SERVICE_TIMEOUT', `${a.service} did not answer ${a.name} within ${a.timeoutMs} ms`, {
            details: { service: a.service, command: a.name, timeoutMs: a.timeoutMs },
            retryable: true,
          }),
        );
      }, a.timeoutMs);
      this.pending.set(id, { name: a.name, service: a.service, resolve, reject, timer });
    });
    try {
      // While the broker is away the publish waits for the reconnect; the timeout must still win,
      // and whichever of the two loses must not become an unhandled rejection.
      const body = Buffer.from(JSON.stringify(a.envelope));
      const published = this.channel.publish(a.exchange, a.routingKey, body, {
        contentType: 'application/json',
        messageId: id,
        correlationId: id,
        replyTo: REPLY_TO,
        type: a.name,
        headers: { ...a.headers, ...this.signer.headers(this.service, { messageId: id, type: a.name, correlationId: id }, body) },
        mandatory: true,
        // A request nobody took in time is worthless: let the broker drop it instead of running it late.
        expiration: String(a.timeoutMs),
      });
      published.catch(() => undefined);
      await Promise.race([published, answer]);
      return await answer;
    } finally {
      const pending = this.pending.get(id);
      if (pending) {
        clearTimeout(pending.timer);
        this.pending.delete(id);
      }
    }
  }

  /** Fails every request waiting: their replies can no longer come (the connection was lost, the bus closed). */
  failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AppError('SERVICE_UNAVAILABLE', `${p.service}: ${reason}`, { details: { service: p.service, command: p.name, reason: 'broker_unreachable', retryAfterSeconds: BROKER_RETRY_AFTER_S }, retryable: true }));
      this.pending.delete(id);
    }
  }

  /** The request a message answers, taken off the waiting list; undefined for a late reply to one that timed out. */
  private take(msg: ConsumeMessage): Pending | undefined {
    const id = msg.properties.correlationId as string | undefined;
    const pending = id ? this.pending.get(id) : undefined;
    if (!id || !pending) return undefined;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  private onReply(msg: ConsumeMessage): void {
    const pending = this.take(msg);
    if (!pending) return;
    const auth = this.signer.verify(msg.properties.headers, msg.properties, msg.content);
    if (!auth.ok) {
      // Only something that holds the reply address and the correlation id can get here: a forged
      // answer, or a service running with another secret. Either way the answer is not believed.
      busMetrics.unauthenticated().inc({ kind: 'reply', reason: auth.reason });
      this.log.warn({ command: pending.name, reason: auth.reason }, 'reply refused: its signature does not verify');
      pending.reject(
        new AppError('INTERNAL', `the reply to ${pending.name} was refused: it is not signed with this platform's CODEAGENT_BUS_SECRET (${auth.reason})`, {
          details: { service: pending.service, command: pending.name, reason: UNAUTHENTICATED_REASON },
        }),
      );
      return;
    }
    let env: Envelope;
    try {
      env = Envelope.parse(JSON.parse(msg.content.toString('utf8')));
    } catch {
      pending.reject(new AppError('INTERNAL', `${pending.service} sent an unreadable reply to ${pending.name}`));
      return;
    }
    if (env.type === 'error') {
      const p = ErrorPayload.safeParse(env.payload);
      pending.reject(p.success ? AppError.fromPayload(p.data) : new AppError('INTERNAL', `${pending.service} failed ${pending.name}`));
    } else {
      pending.resolve(env.payload);
    }
  }

  private onReturned(msg: ConsumeMessage): void {
    const pending = this.take(msg);
    if (!pending) return;
    const direct = msg.fields.exchange === '';
    pending.reject(
      new AppError(
        'SERVICE_UNAVAILABLE',
        direct
          ? `the ${pending.service} replica that held this (${msg.fields.routingKey}) is gone`
          : `no ${pending.service} service is running to answer ${pending.name}`,
        // `reason` is the contract callers match on (never the message text): `no_consumer` for a
        // replica's queue that no longer exists, `no_service` when no replica consumes the command.
        { details: { service: pending.service, command: pending.name, reason: direct ? 'no_consumer' : 'no_service' }, retryable: true },
      ),
    );
  }
}
