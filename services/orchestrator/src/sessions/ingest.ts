import type { AgentDataV1, EventName, EventPayload } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { EventLog } from './event-log';
import type { SessionManager } from './manager';

/**
 * Turns the shell's and the agents' events into session events. Each replica receives them all (its
 * own queue, in order) and appends those of the sessions it owns. The shell numbers its output per
 * session; a chunk at or below the last one seen is a redelivery and is dropped, so the session log
 * never holds it twice.
 */
export class EventIngest {
  private readonly lastShellSeq = new Map<string, number>();

  constructor(
    private readonly events: EventLog,
    private readonly manager: SessionManager,
    private readonly log: Logger,
  ) {}

  handlers() {
    return {
      'shell.output': async (p: EventPayload<'shell.output'>) => {
        if (!this.events.isOpen(p.sessionId)) return;
        const last = this.lastShellSeq.get(p.sessionId);
        if (last !== undefined && p.seq <= last) return;
        this.lastShellSeq.set(p.sessionId, p.seq);
        this.events.append(p.sessionId, 'output', {
          ...(p.commandId ? { commandId: p.commandId } : {}),
          stream: p.stream,
          data: p.data,
          ...(p.encoding === 'base64' ? { encoding: 'base64' } : {}),
        });
      },
      'shell.command.started': async (p: EventPayload<'shell.command.started'>) => {
        this.events.append(p.sessionId, 'command.started', { commandId: p.commandId, command: p.command, ...(p.user ? { user: p.user } : {}) });
        // Busy/idle follow the shell's facts whoever sent the command (the gateway sends most directly).
        await this.manager.commandStarted(p.sessionId, p.commandId);
      },
      'shell.command.completed': async (p: EventPayload<'shell.command.completed'>) => {
        this.events.append(p.sessionId, 'command.completed', {
          commandId: p.commandId,
          command: p.command,
          exitCode: p.exitCode,
          durationMs: p.durationMs,
          timedOut: p.timedOut,
        });
        await this.manager.commandCompleted(p.sessionId, p.commandId);
      },
      'shell.crashed': async (p: EventPayload<'shell.crashed'>) => {
        if (!this.events.isOpen(p.sessionId)) return;
        this.events.append(p.sessionId, 'shell.crashed', { reason: p.reason, restarted: p.restarted });
        if (!p.restarted) await this.manager.fail(p.sessionId, `the jail's shell died: ${p.reason}`);
      },
      'shell.egress.denied': async (p: EventPayload<'shell.egress.denied'>) => {
        if (!this.events.isOpen(p.sessionId)) return;
        this.events.append(p.sessionId, 'egress.denied', { host: p.host, port: p.port, via: p.via, reason: p.reason, count: p.count, at: p.at });
      },
      'shell.closed': async (p: EventPayload<'shell.closed'>) => {
        this.lastShellSeq.delete(p.sessionId);
        if (!this.events.isOpen(p.sessionId)) return;
        const s = await this.manager.get(p.sessionId).catch(() => undefined);
        // Our own close moves to `closing` first; a jail closed under a live session is a loss.
        if (s && (s.status === 'ready' || s.status === 'busy' || s.status === 'idle')) {
          await this.manager.fail(p.sessionId, `the jail was closed by the shell service (replica ${p.instanceId})`);
        }
      },
      ...this.agentHandlers(),
    } satisfies { [N in EventName]?: (p: EventPayload<N>) => Promise<void> };
  }

  private agentHandlers() {
    const record = async (sessionId: string, data: AgentDataV1) => {
      if (!this.events.isOpen(sessionId)) return;
      this.events.append(sessionId, 'agent', data);
      if (data.type === 'step' || data.type === 'started') await this.manager.touch(sessionId).catch((err: Error) => this.log.debug({ err }, 'touch failed'));
    };
    return {
      'agent.run.started': async ({ sessionId, ...p }: EventPayload<'agent.run.started'>) => record(sessionId, { type: 'started', ...p }),
      'agent.run.step': async ({ sessionId, ...p }: EventPayload<'agent.run.step'>) => record(sessionId, { type: 'step', ...p }),
      'agent.run.text': async ({ sessionId, ...p }: EventPayload<'agent.run.text'>) => record(sessionId, { type: 'text', ...p }),
      'agent.run.completed': async ({ sessionId, ...p }: EventPayload<'agent.run.completed'>) => record(sessionId, { type: 'completed', ...p }),
    };
  }
}
