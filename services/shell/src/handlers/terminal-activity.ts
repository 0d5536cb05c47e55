import type { Logger } from '@codeagent/telemetry';

/** What publishes the fact (the bus). */
export interface ActivitySink {
  publish(name: 'shell.terminal.active', payload: { sessionId: string; at: string }): Promise<void>;
}

/**
 * Tells the orchestrator that someone types in a session's terminal, so it is not closed as idle:
 * one `shell.terminal.active` per session and window however fast they type (the orchestrator only
 * needs to know the terminal was used within its idle timeout, not every keystroke).
 */
export class TerminalActivity {
  private readonly lastSaid = new Map<string, number>();

  constructor(
    private readonly sink: ActivitySink,
    private readonly opts: { windowMs: number; log: Logger; now?: () => number },
  ) {}

  typed(sessionId: string): void {
    const now = this.opts.now?.() ?? Date.now();
    const last = this.lastSaid.get(sessionId);
    if (last !== undefined && now - last < this.opts.windowMs) return;
    // Sessions nobody typed in for a window are forgotten, so the map holds only the ones in use.
    for (const [id, at] of this.lastSaid) if (now - at >= this.opts.windowMs) this.lastSaid.delete(id);
    this.lastSaid.set(sessionId, now);
    this.sink
      .publish('shell.terminal.active', { sessionId, at: new Date(now).toISOString() })
      .catch((err: Error) => this.opts.log.warn({ sessionId, err: err.message }, 'terminal activity not published'));
  }
}
