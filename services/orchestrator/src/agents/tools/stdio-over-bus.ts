import type { Bus } from '@codeagent/bus';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { SessionContext } from '../session-context';

/** How long one JSON-RPC request to a stdio MCP server may take before its answer is given up. */
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * An MCP client transport to a stdio server running inside the session's jail: the process is started
 * by the shell replica that holds the jail (shell.stdio.open), and each JSON-RPC message goes there as
 * one shell.stdio.send; the reply carries every message the server wrote since, up to the answer to
 * a request. No stream is held open between calls, so nothing is lost when a request is redelivered.
 */
export class BusStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private closed = false;

  constructor(
    private readonly bus: Bus,
    private readonly session: SessionContext,
    private readonly server: { name: string; command: string[]; env?: Record<string, string> },
    private readonly user?: string,
  ) {}

  private get target() {
    return { instanceId: this.session.shellInstanceId, user: this.user };
  }

  async start(): Promise<void> {
    const { name, command, env } = this.server;
    await this.bus.request('shell.stdio.open', { sessionId: this.session.sessionId, name, command, ...(env ? { env } : {}) }, { ...this.target, timeoutMs: 30_000 });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error(`the MCP server ${this.server.name} is closed`);
    // A request of ours waits for its answer; notifications and our answers to the server do not.
    const waitForId = 'method' in message && 'id' in message ? message.id : undefined;
    const r = await this.bus.request(
      'shell.stdio.send',
      { sessionId: this.session.sessionId, name: this.server.name, message: message as Record<string, unknown>, ...(waitForId !== undefined ? { waitForId } : {}), timeoutMs: REQUEST_TIMEOUT_MS },
      { ...this.target, timeoutMs: REQUEST_TIMEOUT_MS + 10_000 },
    );
    for (const m of r.messages) this.onmessage?.(m as JSONRPCMessage);
    if (r.exited) {
      this.closed = true;
      this.onerror?.(new Error(`the MCP server ${this.server.name} exited (code ${r.exited.code ?? 'signal'})${r.exited.stderr ? `: ${r.exited.stderr.trim().slice(-1000)}` : ''}`));
      this.onclose?.();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.bus.request('shell.stdio.close', { sessionId: this.session.sessionId, name: this.server.name }, { ...this.target, timeoutMs: 10_000 }).catch(() => undefined);
    this.onclose?.();
  }
}
