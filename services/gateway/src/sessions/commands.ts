import { randomBytes } from 'node:crypto';
import { AppError, isReplicaGone, type CommandReply, type CommandRequest, type ExecResultV1 } from '@codeagent/contracts';
import type { SessionAccess } from '../auth/access';
import type { Principal } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';
import type { Placement } from './placement';

const RUNNABLE = new Set(['ready', 'busy', 'idle']);

type AgentCommand =
  | 'shell.agent.start'
  | 'shell.agent.status'
  | 'shell.agent.list'
  | 'shell.agent.keys'
  | 'shell.agent.screen'
  | 'shell.agent.stop'
  | 'shell.agent.attach'
  | 'shell.agent.attach.input'
  | 'shell.agent.attach.close';

/**
 * A session's commands, sent by the gateway straight to the shell replica that holds its jail (the
 * placement cached at the edge), authorised here once. The orchestrator is not asked: it follows
 * busy/idle from the shell's command events. The answer is the shell's reply, the command's one
 * authoritative completion.
 */
export class SessionCommands {
  constructor(
    private readonly services: ServiceClient,
    private readonly access: SessionAccess,
    private readonly opts: { execTimeoutMs: number },
  ) {}

  /** Runs a command; INVALID_STATE (409) unless the session is ready, busy or idle. */
  exec(who: Principal, sessionId: string, req: { command: string; commandId?: string; timeoutMs?: number }): Promise<ExecResultV1> {
    const timeoutMs = req.timeoutMs ?? this.opts.execTimeoutMs;
    const commandId = req.commandId ?? `cmd_${randomBytes(8).toString('hex')}`;
    return this.toJail(who, sessionId, 'commands run', (instanceId) =>
      // The bus waits a little longer than the command may run, so the shell's own timeout answers first.
      this.services.call('shell.exec', { sessionId, command: req.command, commandId, timeoutMs, user: who.userId }, who, { instanceId, timeoutMs: timeoutMs + 5_000 }),
    );
  }

  /** Interrupts the running command; `interrupted: false` when none runs or the session has ended. */
  async interrupt(who: Principal, sessionId: string): Promise<{ interrupted: boolean }> {
    try {
      return await this.toJail(who, sessionId, 'commands run', (instanceId) => this.services.call('shell.interrupt', { sessionId }, who, { instanceId }));
    } catch (err) {
      if (err instanceof AppError && err.code === 'INVALID_STATE') return { interrupted: false };
      throw err;
    }
  }

  /** Keystrokes to the jail's terminal, opened when none is; the shell tells the orchestrator someone types (idle closing). */
  input(who: Principal, sessionId: string, data: string): Promise<{ ok: boolean }> {
    return this.toJail(who, sessionId, 'its terminal is usable', (instanceId) => this.services.call('shell.pty.input', { sessionId, data }, who, { instanceId }));
  }

  /** Sizes the jail's terminal, opening it when none is open yet. */
  resize(who: Principal, sessionId: string, cols: number, rows: number): Promise<{ ok: boolean }> {
    return this.toJail(who, sessionId, 'its terminal is usable', (instanceId) => this.services.call('shell.pty.open', { sessionId, cols, rows }, who, { instanceId }));
  }

  /** An outside agent's command (shell.agent.*: start, status, list, keys, screen, stop, attach...), to the jail's replica like the others. */
  agent<N extends AgentCommand>(who: Principal, sessionId: string, name: N, payload: Omit<CommandRequest<N>, 'sessionId'>, opts: { timeoutMs?: number } = {}): Promise<CommandReply<N>> {
    return this.toJail(who, sessionId, 'outside agents run', (instanceId) =>
      this.services.call(name, { sessionId, ...payload } as CommandRequest<N>, who, { instanceId, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) }),
    );
  }

  /**
   * Checks access and state from the placement and sends to its shell replica. When that replica is
   * gone, or does not hold the jail, the placement was stale: it is read again once, and the command
   * resent only if the jail is elsewhere (neither answer means the command ran). When the jail is
   * still placed on a replica that is not on the bus, that replica is most likely starting again
   * (adopting its jails before it takes commands): the command, which the broker returned undelivered,
   * is sent again for a few seconds before the 503 is the answer.
   */
  private async toJail<T>(who: Principal, sessionId: string, what: string, send: (instanceId: string) => Promise<T>): Promise<T> {
    const placed = runnable(await this.access.check(who, sessionId), what);
    try {
      return await send(placed.shellInstanceId);
    } catch (err) {
      if (!(isReplicaGone(err) || (err instanceof AppError && err.code === 'NOT_FOUND'))) throw err;
      this.access.placements.forget(sessionId);
      const now = runnable(await this.access.check(who, sessionId), what);
      if (now.shellInstanceId !== placed.shellInstanceId) return send(now.shellInstanceId);
      if (!isReplicaGone(err)) throw err;
      return this.whileStarting(() => send(now.shellInstanceId), err);
    }
  }

  private async whileStarting<T>(send: () => Promise<T>, gone: unknown): Promise<T> {
    for (const delay of STARTING_RETRY_MS) {
      await new Promise((r) => setTimeout(r, delay));
      try {
        return await send();
      } catch (err) {
        if (!isReplicaGone(err)) throw err;
      }
    }
    throw gone;
  }
}

/** Waits before each send again to a replica not on the bus: 2.5 s in all, inside the 5 s a request may take to fail. */
const STARTING_RETRY_MS = [50, 100, 200, 400, 750, 1000];

function runnable(p: Placement, what: string): Placement & { shellInstanceId: string } {
  if (!RUNNABLE.has(p.status) || !p.shellInstanceId) {
    throw new AppError('INVALID_STATE', `session ${p.sessionId} is ${p.status}; ${what} only in a ready, busy or idle session`, { details: { status: p.status } });
  }
  return p as Placement & { shellInstanceId: string };
}
