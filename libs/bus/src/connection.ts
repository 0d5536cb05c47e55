import type { Writable } from 'node:stream';
import * as amqp from 'amqp-connection-manager';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { AppError } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';

/** The URL with its password hidden, for logs and errors. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

/**
 * Opens a self-healing connection: amqp-connection-manager reconnects after a broker restart or a
 * dropped socket and re-runs every channel's setup. `noDelay` matters: without it Nagle's algorithm
 * turns a 0.6 ms request/reply into ~41 ms on this kind of machine.
 */
export async function openConnection(opts: {
  url: string;
  name: string;
  log: Logger;
  connectTimeoutMs: number;
  heartbeatSeconds: number;
}): Promise<AmqpConnectionManager> {
  const conn = amqp.connect([opts.url], {
    heartbeatIntervalInSeconds: opts.heartbeatSeconds,
    reconnectTimeInSeconds: 1,
    connectionOptions: { noDelay: true, clientProperties: { connection_name: opts.name } },
  });
  let lastError: Error | undefined;
  conn.on('connect', ({ connection }) => {
    coalesceWrites(connection);
    opts.log.info({ url: safeUrl(opts.url) }, 'bus connected');
  });
  conn.on('disconnect', ({ err }) => opts.log.warn({ err: err?.message }, 'bus disconnected; reconnecting'));
  conn.on('connectFailed', ({ err }) => {
    lastError = err;
    opts.log.debug({ err: err?.message }, 'bus connect attempt failed');
  });
  conn.on('blocked', ({ reason }) => opts.log.warn({ reason }, 'broker blocked the connection'));
  conn.on('unblocked', () => opts.log.info('broker unblocked the connection'));

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError(
            'SERVICE_UNAVAILABLE',
            `cannot reach RabbitMQ at ${safeUrl(opts.url)} within ${opts.connectTimeoutMs} ms` +
              (lastError ? ` (${lastError.message})` : '') +
              '; start it (e.g. `rabbitmq-server -detached`) or set RABBITMQ_URL',
            { retryable: true },
          ),
        ),
      opts.connectTimeoutMs,
    );
  });
  try {
    await Promise.race([waitConnected(conn), timeout]);
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return conn;
}

/**
 * amqplib writes each frame chunk it has ready (a reply, an ack, a publish on another channel) with a
 * write call of its own, one syscall each; corked until the next tick, the chunks of one turn of the
 * event loop leave in one writev. Nothing waits longer than the turn that wrote it.
 */
function coalesceWrites(model: unknown): void {
  const socket = (model as { connection?: { stream?: Writable } }).connection?.stream;
  if (!socket || typeof socket.cork !== 'function') return;
  const write = socket.write;
  let corked = false;
  socket.write = function (this: Writable, ...args: Parameters<Writable['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write.apply(this, args);
  } as Writable['write'];
}

function waitConnected(conn: AmqpConnectionManager): Promise<void> {
  if (conn.isConnected()) return Promise.resolve();
  return new Promise((resolve) => conn.once('connect', () => resolve()));
}

/**
 * Whether an error says only that the channel went away under an operation (the broker restarted or
 * the socket dropped): amqplib gives those no code, unlike the broker's refusals (406, 404, ...).
 * amqp-connection-manager runs every setup again on the next connect.
 */
export function lostWithChannel(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: unknown };
  if (typeof e?.code === 'number') return false;
  return e?.name === 'IllegalOperationError' || /^(Channel ended|Channel closed|Connection closed)/.test(e?.message ?? '');
}

/**
 * A channel's setup that fails when it runs again on a reconnect is emitted as an `error` event, which
 * would end the process without a listener: a broker that goes away while the setups run (a restart,
 * a flapping network) is logged and waited out. A setup the broker refuses (a queue declared elsewhere
 * with other arguments) drops the connection: it is logged as an error on every reconnect until put
 * right, while /health says the bus is reconnecting.
 */
export function watchChannel(channel: ChannelWrapper, log: Logger): ChannelWrapper {
  channel.on('error', (err: unknown, info?: { name?: string }) => {
    const fields = { channel: info?.name ?? channel.name, err: (err as Error)?.message };
    if (lostWithChannel(err)) log.warn(fields, 'the broker went away while the channel was set up; it is set up again on the next connect');
    else log.error(fields, 'a channel setup failed');
  });
  return channel;
}

/**
 * Adds a setup to a channel and resolves once it has run on a live channel. A setup cut short by the
 * broker going away stays registered (amqp-connection-manager keeps it) and runs on the next
 * connect, which this waits for, instead of failing the caller (a service's start).
 */
export async function addSetup(channel: ChannelWrapper, setup: (ch: ConfirmChannel) => Promise<void>, log: Logger): Promise<void> {
  try {
    await channel.addSetup(setup);
  } catch (err) {
    if (!lostWithChannel(err)) throw err;
    log.warn({ channel: channel.name, err: (err as Error).message }, 'the broker went away during a setup; waiting for the next connect');
  }
  await channel.waitForConnect();
}
