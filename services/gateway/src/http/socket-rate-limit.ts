import { SOCKET_EVENT } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { Namespace } from 'socket.io';
import type { Principal } from '../auth/principal';
import { errorMessage } from '../sockets/sink';
import type { RateLimitCounter } from './rate-limit';

/** Keystrokes and terminal sizes are the data plane of an open terminal, not requests: not counted. */
const UNCOUNTED = new Set(['/input', '/resize']);

/**
 * Socket.IO commands are rate-limited per user like HTTP routes (same counter, a budget of their own):
 * past it, the command is not run and its sender gets an `error` (`RATE_LIMITED`, with
 * `details.retryAfterSeconds`) carrying the command's id. A socket's commands keep their order: each
 * waits for the one before it to be counted.
 */
export function limitSocketCommands(nsp: Namespace, counter: RateLimitCounter, opts: { max: number; windowMs: number; log: Logger }): void {
  nsp.use((socket, next) => {
    let chain: Promise<void> = Promise.resolve();
    socket.use((packet, nextPacket) => {
      const [event, msg] = packet as [string, { id?: unknown; payload?: { command?: unknown } } | undefined];
      const command = msg?.payload?.command;
      if (event !== SOCKET_EVENT || (typeof command === 'string' && UNCOUNTED.has(command))) {
        chain = chain.then(() => nextPacket());
        return;
      }
      const who = socket.data.principal as Principal | undefined;
      const key = `socket ${who && who.via !== 'local' ? `user:${who.userId}` : `ip:${socket.handshake.address}`}`;
      chain = chain.then(async () => {
        const hit = await counter.hit(key, opts.windowMs).catch(() => undefined);
        if (!hit || hit.count <= opts.max) return nextPacket();
        const retryAfterSeconds = Math.max(1, Math.ceil(hit.resetInMs / 1000));
        opts.log.warn({ key, command }, 'socket command rate-limited');
        socket.emit(
          SOCKET_EVENT,
          errorMessage(
            { code: 'RATE_LIMITED', message: `rate limit of ${opts.max} requests per minute reached; retry in ${retryAfterSeconds} s`, details: { retryAfterSeconds }, retryable: true },
            typeof msg?.id === 'string' ? msg.id : undefined,
          ),
        );
      });
    });
    next();
  });
}
