import { AppError } from '@codeagent/contracts';
import type { JailProcess, Sandbox } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';

/** A line of stdout longer than this is not a JSON-RPC message we will hold: the process is ended. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Messages kept unread per process; beyond it the oldest are dropped (and said so in the log). */
const MAX_QUEUED = 10_000;
/** The end of stderr kept to explain an exit. */
const STDERR_TAIL = 4000;

interface Proc {
  proc: JailProcess;
  queue: unknown[];
  stderr: string;
  exit?: { code: number | null };
  /** Wakes senders waiting for an id when a message arrives or the process ends. */
  waiters: Set<() => void>;
}

/**
 * Long-lived processes with pipes inside sessions' jails (stdio MCP servers), by session and name.
 * Speaks newline-delimited JSON-RPC (MCP's stdio framing): each send writes one line and answers with
 * every message the process wrote since, waiting for the one with a given id when asked to. Ends with
 * the session (the jail's pid namespace takes it along anyway).
 */
export class StdioProcesses {
  private readonly procs = new Map<string, Proc>();

  constructor(private readonly log: Logger) {}

  async open(sessionId: string, sandbox: Sandbox, name: string, argv: string[], env?: Record<string, string>): Promise<{ name: string; pid: number; started: boolean }> {
    const k = key(sessionId, name);
    const running = this.procs.get(k);
    if (running && !running.exit) return { name, pid: running.proc.pid, started: false };
    if (!sandbox.spawn) throw new AppError('SANDBOX_UNAVAILABLE', `the ${sandbox.driver} driver cannot start processes with pipes in a jail; stdio MCP servers need a bubblewrap session`);
    const proc = await sandbox.spawn(argv, { env });
    const p: Proc = { proc, queue: [], stderr: '', waiters: new Set() };
    this.procs.set(k, p);
    const wake = () => p.waiters.forEach((w) => w());
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          p.queue.push(JSON.parse(line));
          if (p.queue.length > MAX_QUEUED) p.queue.shift();
        } catch {
          // MCP servers must write only JSON-RPC on stdout; anything else is kept for the exit report.
          p.stderr = (p.stderr + `[stdout, not JSON-RPC] ${line.slice(0, 500)}\n`).slice(-STDERR_TAIL);
        }
      }
      if (buf.length > MAX_LINE_BYTES) void proc.kill();
      wake();
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => (p.stderr = (p.stderr + d).slice(-STDERR_TAIL)));
    void proc.exited.then((code) => {
      p.exit = { code };
      this.log.info({ sessionId, name, code }, 'stdio process exited');
      wake();
    });
    this.log.info({ sessionId, name, argv, pid: proc.pid }, 'stdio process started');
    return { name, pid: proc.pid, started: true };
  }

  async send(sessionId: string, name: string, message: unknown, waitForId: string | number | undefined, timeoutMs: number) {
    const p = this.procs.get(key(sessionId, name));
    if (!p) throw new AppError('NOT_FOUND', `no stdio process "${name}" in session ${sessionId}; start it with shell.stdio.open`);
    if (message !== undefined && !p.exit) p.proc.stdin.write(`${JSON.stringify(message)}\n`);
    if (waitForId !== undefined) {
      const has = () => p.queue.some((m) => isReplyTo(m, waitForId));
      let wake!: () => void;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = () => (has() || p.exit ? resolve() : undefined);
        p.waiters.add(wake);
        timer = setTimeout(resolve, timeoutMs);
        wake();
      });
      p.waiters.delete(wake);
      clearTimeout(timer);
    }
    const messages = p.queue.splice(0);
    const exited = p.exit ? { code: p.exit.code, stderr: p.stderr } : undefined;
    if (exited) this.procs.delete(key(sessionId, name));
    return { messages, ...(exited ? { exited } : {}) };
  }

  async close(sessionId: string, name: string): Promise<boolean> {
    const k = key(sessionId, name);
    const p = this.procs.get(k);
    if (!p) return false;
    this.procs.delete(k);
    p.proc.stdin.end();
    await p.proc.kill();
    return true;
  }

  /** Every process of a session (it is closing). */
  async closeSession(sessionId: string): Promise<void> {
    const names = [...this.procs.keys()].filter((k) => k.startsWith(`${sessionId}\u0000`)).map((k) => k.split('\u0000')[1]!);
    await Promise.all(names.map((n) => this.close(sessionId, n)));
  }
}

const key = (sessionId: string, name: string) => `${sessionId}\u0000${name}`;

function isReplyTo(m: unknown, id: string | number): boolean {
  const r = m as { id?: unknown; method?: unknown } | null;
  return !!r && r.id === id && r.method === undefined;
}
