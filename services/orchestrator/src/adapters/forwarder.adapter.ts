import type { Bus } from '@codeagent/bus';
import { AppError, type CommandName, type CommandReply, type CommandRequest } from '@codeagent/contracts';
import type { Forwarder } from '../sessions/service';
import type { PeersPort } from '../sessions/ports';

/** How often a forwarded request checks that the replica it waits for is still there. */
const WATCH_MS = 2_000;

/**
 * Forwards a session's command to the replica that owns it. A request sitting in that replica's queue
 * is lost with the queue when the replica dies (its queue is exclusive), so while it waits the
 * forwarder watches the replica: once it is gone the caller gets a retryable SERVICE_UNAVAILABLE at
 * once instead of waiting out a timeout of minutes. It is not run here instead: the dead replica may
 * have started it, and a command must not run twice; the retry finds the owner gone and adopts.
 */
export class WatchedForwarder implements Forwarder {
  constructor(
    private readonly bus: Bus,
    private readonly peers: PeersPort,
    private readonly timeoutMs: (name: CommandName) => number,
  ) {}

  async forward<N extends CommandName>(name: N, payload: CommandRequest<N>, instanceId: string, user?: string): Promise<CommandReply<N>> {
    const answer = this.bus.request(name, payload, { instanceId, user, timeoutMs: this.timeoutMs(name) });
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const ownerDied = new Promise<never>((_, reject) => {
      const check = async () => {
        if (settled) return;
        if (!(await this.peers.isAlive(instanceId))) {
          reject(
            new AppError('SERVICE_UNAVAILABLE', `orchestrator replica ${instanceId} stopped while handling ${name}; try again`, {
              details: { service: 'orchestrator', command: name, instanceId },
              retryable: true,
            }),
          );
          return;
        }
        if (!settled) timer = setTimeout(check, WATCH_MS);
      };
      timer = setTimeout(check, WATCH_MS);
    });
    // Whichever loses the race must not become an unhandled rejection.
    ownerDied.catch(() => undefined);
    answer.catch(() => undefined);
    try {
      return await Promise.race([answer, ownerDied]);
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }
}
