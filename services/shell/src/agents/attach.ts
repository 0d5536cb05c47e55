import { AppError } from '@codeagent/contracts';
import type { Pty, Sandbox } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import type { EventSink } from '../jails/types';
import { tmuxSocketPath } from './tmux';

interface Attachment {
  sessionId: string;
  pty: Pty;
  /** Printed and not yet published: what the terminal prints while an event is on its way joins it. */
  pending: Buffer[];
  /** The terminal's end, published once what it printed before has gone. */
  ended?: { exitCode: number };
  sending: boolean;
}

/**
 * Terminals of their own attached to agents (`ssh <sessionId>+<agent>@host`): a PTY in the jail that
 * runs `tmux attach` to the agent's session, apart from the session's terminal, so detaching ends only
 * it and nothing is typed into whatever the session's terminal runs. Its output goes out as
 * `shell.agent.attach.output` events named by the caller's attachId; the last one says it ended.
 */
export class AgentAttachments {
  private readonly byId = new Map<string, Attachment>();

  constructor(
    private readonly sink: EventSink,
    private readonly log: Logger,
  ) {}

  async open(sessionId: string, sandbox: Sandbox, name: string, attachId: string, cols: number, rows: number): Promise<void> {
    if (this.byId.has(attachId)) throw new AppError('CONFLICT', `attach terminal ${attachId} is already open`);
    const pty = await sandbox.openPty({ cols, rows, argv: ['tmux', '-S', tmuxSocketPath(name), 'attach-session', '-t', name] });
    const a: Attachment = { sessionId, pty, pending: [], sending: false };
    this.byId.set(attachId, a);
    pty.onData((d) => {
      a.pending.push(d);
      void this.publish(attachId, a);
    });
    pty.onExit((exitCode) => {
      this.byId.delete(attachId);
      a.ended = { exitCode };
      void this.publish(attachId, a);
      this.log.info({ sessionId, agent: name, attachId, exitCode }, 'attach terminal ended');
    });
    this.log.info({ sessionId, agent: name, attachId }, 'attach terminal opened');
  }

  input(sessionId: string, attachId: string, data: string | undefined, size: { cols?: number; rows?: number }): void {
    const a = this.get(sessionId, attachId);
    if (size.cols && size.rows) a.pty.resize(size.cols, size.rows);
    if (data) a.pty.write(data);
  }

  /** Ends it (the tmux client; the agent runs on); false when it had already ended. */
  async close(sessionId: string, attachId: string): Promise<boolean> {
    const a = this.byId.get(attachId);
    if (!a || a.sessionId !== sessionId) return false;
    await a.pty.close();
    return true;
  }

  /** Every attach terminal of a session (its jail is closing). */
  async closeSession(sessionId: string): Promise<void> {
    await Promise.allSettled([...this.byId.entries()].filter(([, a]) => a.sessionId === sessionId).map(([id]) => this.close(sessionId, id)));
  }

  /**
   * One event on its way at a time, as the session terminal's output goes (output-stream.ts): what is
   * printed meanwhile leaves as one event after it, so a burst of tiny reads (a tmux redraw) waits
   * behind one confirm, not one each; the end goes last.
   */
  private async publish(attachId: string, a: Attachment): Promise<void> {
    if (a.sending) return;
    a.sending = true;
    while (a.pending.length > 0 || a.ended) {
      const ended = a.pending.length === 0 ? a.ended : undefined;
      if (ended) a.ended = undefined;
      const data = ended ? '' : Buffer.concat(a.pending.splice(0)).toString('base64');
      await this.sink
        .publish('shell.agent.attach.output', { sessionId: a.sessionId, attachId, data, ...(ended ? { ended } : {}) })
        .catch((err: Error) => this.log.warn({ sessionId: a.sessionId, attachId, err: err.message }, 'could not publish attach output'));
    }
    a.sending = false;
  }

  private get(sessionId: string, attachId: string): Attachment {
    const a = this.byId.get(attachId);
    if (!a || a.sessionId !== sessionId) throw new AppError('NOT_FOUND', `session ${sessionId} has no attach terminal ${attachId} (it ended, or is on another replica)`);
    return a;
  }
}
