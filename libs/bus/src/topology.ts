import type { ConfirmChannel } from 'amqplib';
import { Exchanges, Queues } from '@codeagent/contracts';

/** Back-off before each retry of a failed message; the length is the retry cap. */
export const RETRY_DELAYS_MS = [200, 1_000, 5_000, 15_000] as const;

/** A retry level: a fanout exchange into a queue whose messages expire back to their own queue. */
export const retryExchange = (delayMs: number) => `codeagent.retry.${delayMs}ms`;

export type QueueType = 'classic' | 'quorum';

/**
 * Queue arguments by type. Classic queues keep exactly the arguments they were first declared with
 * (a broker refuses a redeclaration that differs), quorum ones say so: every durable queue of a
 * deployment has the type its BUS_QUEUE_TYPE chose before the first start.
 */
const typed = (queueType: QueueType, args: Record<string, unknown> = {}) => (queueType === 'quorum' ? { 'x-queue-type': 'quorum', ...args } : args);

/** Declares what every process needs: the three exchanges, the dead-letter queue, the retry levels. */
export async function declareBaseTopology(ch: ConfirmChannel, queueType: QueueType = 'classic'): Promise<void> {
  await ch.assertExchange(Exchanges.commands, 'topic', { durable: true });
  await ch.assertExchange(Exchanges.events, 'topic', { durable: true });
  await ch.assertExchange(Exchanges.deadLetter, 'fanout', { durable: true });
  await ch.assertQueue(Queues.deadLetter, { durable: true, arguments: typed(queueType) });
  await ch.bindQueue(Queues.deadLetter, Exchanges.deadLetter, '');
  for (const delay of RETRY_DELAYS_MS) {
    const name = retryExchange(delay);
    await ch.assertExchange(name, 'fanout', { durable: true });
    // Expired messages go to the default exchange with their routing key, which is the queue they
    // came from: so a retried message returns to exactly the queue that failed it.
    await ch.assertQueue(name, { durable: true, arguments: typed(queueType, { 'x-message-ttl': delay, 'x-dead-letter-exchange': '' }) });
    await ch.bindQueue(name, name, '');
  }
}

/**
 * How long a queue lives:
 * - `shared`: durable, consumed by every replica of a service, kept while they are all down;
 * - `single-active`: as shared, but delivered to one replica at a time (the others take over in turn);
 * - `replica`: one replica's own subscription; durable, so a broker restart loses none of its events,
 *   and deleted by the broker once nobody has used it for REPLICA_QUEUE_EXPIRES_MS (its replica is gone);
 * - `connection`: exclusive to the replica's connection and gone with it at once (a replica's command
 *   queue: its absence is how peers learn the replica is gone).
 */
export type QueueLifetime = 'shared' | 'single-active' | 'replica' | 'connection';

/** Unused that long, a replica's own event queue is deleted (the replica has not come back). */
export const REPLICA_QUEUE_EXPIRES_MS = 5 * 60_000;

export async function declareQueue(ch: ConfirmChannel, queue: string, opts: { lifetime: QueueLifetime; queueType: QueueType }): Promise<void> {
  const version = opts.queueType === 'classic' ? { 'x-queue-version': 2 } : {};
  if (opts.lifetime === 'shared' || opts.lifetime === 'single-active') {
    const single = opts.lifetime === 'single-active' ? { 'x-single-active-consumer': true } : {};
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': opts.queueType, ...version, ...single } });
  } else if (opts.lifetime === 'replica') {
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': opts.queueType, ...version, 'x-expires': REPLICA_QUEUE_EXPIRES_MS } });
  } else {
    await ch.assertQueue(queue, { durable: false, exclusive: true, autoDelete: true });
  }
}
