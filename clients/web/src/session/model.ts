import type { SessionEvent, SessionStatus } from '../api/types';

// A session's event log folded into what the page shows: its status, the command log, the agent runs
// and the terminal's bytes. Pure (no DOM, no React), so it is unit-tested on its own; the feed gives
// each sequence number once, and `apply` also ignores one it has already seen.

/** Output kept per command in the log; the rest is counted and said to be cut. */
export const MAX_OUTPUT_PER_COMMAND = 256 * 1024;
/** Commands kept in the log (the oldest go first). */
export const MAX_COMMANDS = 500;
/** Terminal bytes kept for a terminal view that (re)attaches. */
export const MAX_PTY_HISTORY = 2 * 1024 * 1024;

export interface CommandEntry {
  commandId: string;
  command: string;
  user?: string;
  /** stdout and stderr interleaved, in order. */
  chunks: Array<{ stream: 'stdout' | 'stderr'; text: string }>;
  bytes: number;
  cut: boolean;
  exitCode?: number;
  durationMs?: number;
  timedOut?: boolean;
  startedAt?: string;
}

export type RunItem =
  | { kind: 'text'; step: number; role: string; text: string }
  | { kind: 'step'; index: number; role: string; provider: string; model: string; toolCalls: Array<{ tool: string; input: unknown; error?: string }>; inputTokens: number; outputTokens: number; costUsd: number };

export interface AgentRunView {
  runId: string;
  roles: string[];
  prompt: string;
  status: string;
  error?: string;
  items: RunItem[];
  costUsd?: number;
  inputTokens?: number;
  outputTokens?: number;
}

export function decode(data: unknown, encoding: unknown): string {
  const s = String(data ?? '');
  if (encoding !== 'base64') return s;
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

export class SessionModel {
  lastSeq = 0;
  status?: SessionStatus;
  statusReason?: string;
  readonly commands = new Map<string, CommandEntry>();
  readonly runs = new Map<string, AgentRunView>();
  readonly notes: Array<{ seq: number; kind: string; text: string }> = [];
  private pty: string[] = [];
  private ptyBytes = 0;
  private ptyWriter?: (s: string) => void;
  /** Bumped on every change, for React's useSyncExternalStore. */
  version = 0;

  apply(e: SessionEvent): void {
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    this.version++;
    const d = e.data;
    switch (e.kind) {
      case 'status':
        this.status = d.to as SessionStatus;
        this.statusReason = typeof d.reason === 'string' ? d.reason : undefined;
        return;
      case 'command.started': {
        const id = String(d.commandId);
        this.command(id, String(d.command ?? '')).startedAt = e.at;
        const entry = this.commands.get(id)!;
        if (typeof d.user === 'string') entry.user = d.user;
        return;
      }
      case 'output': {
        const text = decode(d.data, d.encoding);
        if (d.stream === 'pty') return this.ptyOutput(text);
        if (typeof d.commandId !== 'string') return;
        const c = this.command(d.commandId, '');
        c.bytes += text.length;
        const room = MAX_OUTPUT_PER_COMMAND - c.chunks.reduce((n, x) => n + x.text.length, 0);
        if (room <= 0) {
          c.cut = true;
          return;
        }
        const stream = d.stream === 'stderr' ? 'stderr' : 'stdout';
        const last = c.chunks[c.chunks.length - 1];
        const kept = text.slice(0, room);
        if (kept.length < text.length) c.cut = true;
        if (last && last.stream === stream) last.text += kept;
        else c.chunks.push({ stream, text: kept });
        return;
      }
      case 'command.completed': {
        const c = this.command(String(d.commandId), String(d.command ?? ''));
        c.exitCode = typeof d.exitCode === 'number' ? d.exitCode : undefined;
        c.durationMs = typeof d.durationMs === 'number' ? d.durationMs : undefined;
        c.timedOut = d.timedOut === true;
        return;
      }
      case 'agent':
        return this.agent(d);
      case 'snapshot':
        this.notes.push({ seq: e.seq, kind: 'snapshot', text: `snapshot ${String(d.snapshotId)}${d.label ? ` (${String(d.label)})` : ''}` });
        return;
      case 'shell.crashed':
        this.notes.push({ seq: e.seq, kind: 'shell.crashed', text: `the shell crashed: ${String(d.reason)}${d.restarted ? ' (restarted)' : ''}` });
        return;
      case 'note':
        this.notes.push({ seq: e.seq, kind: 'note', text: String(d.message ?? JSON.stringify(d)) });
        return;
      default:
        return;
    }
  }

  /** Commands in the order they started. */
  commandList(): CommandEntry[] {
    return [...this.commands.values()];
  }

  /** A terminal view attaches: it gets the kept history, then every new byte. */
  attachTerminal(write: (s: string) => void): () => void {
    for (const chunk of this.pty) write(chunk);
    this.ptyWriter = write;
    return () => {
      if (this.ptyWriter === write) this.ptyWriter = undefined;
    };
  }

  private ptyOutput(text: string): void {
    this.pty.push(text);
    this.ptyBytes += text.length;
    while (this.ptyBytes > MAX_PTY_HISTORY && this.pty.length > 1) this.ptyBytes -= this.pty.shift()!.length;
    this.ptyWriter?.(text);
  }

  private command(id: string, command: string): CommandEntry {
    let c = this.commands.get(id);
    if (!c) {
      c = { commandId: id, command, chunks: [], bytes: 0, cut: false };
      this.commands.set(id, c);
      if (this.commands.size > MAX_COMMANDS) this.commands.delete(this.commands.keys().next().value as string);
    } else if (!c.command && command) c.command = command;
    return c;
  }

  private agent(d: Record<string, unknown>): void {
    const runId = String(d.runId);
    let run = this.runs.get(runId);
    if (!run) {
      run = { runId, roles: [], prompt: '', status: 'running', items: [] };
      this.runs.set(runId, run);
    }
    switch (d.type) {
      case 'started':
        run.roles = (d.roles as string[]) ?? [];
        run.prompt = String(d.prompt ?? '');
        return;
      case 'text': {
        const step = Number(d.step);
        const last = run.items[run.items.length - 1];
        if (last?.kind === 'text' && last.step === step) last.text += String(d.delta ?? '');
        else run.items.push({ kind: 'text', step, role: String(d.role ?? ''), text: String(d.delta ?? '') });
        return;
      }
      case 'step': {
        const index = Number(d.index);
        // Text that was not streamed arrives with its step.
        if (d.text && !run.items.some((i) => i.kind === 'text' && i.step === index)) run.items.push({ kind: 'text', step: index, role: String(d.role ?? ''), text: String(d.text) });
        const usage = (d.usage ?? {}) as { inputTokens?: number; outputTokens?: number };
        run.items.push({
          kind: 'step',
          index,
          role: String(d.role ?? ''),
          provider: String(d.provider ?? ''),
          model: String(d.model ?? ''),
          toolCalls: ((d.toolCalls as Array<{ tool: string; input: unknown; error?: string }>) ?? []).map((t) => ({ tool: t.tool, input: t.input, error: t.error })),
          inputTokens: usage.inputTokens ?? 0,
          outputTokens: usage.outputTokens ?? 0,
          costUsd: Number(d.costUsd ?? 0),
        });
        return;
      }
      case 'completed': {
        const usage = (d.usage ?? {}) as { inputTokens?: number; outputTokens?: number };
        run.status = String(d.status);
        run.error = typeof d.error === 'string' ? d.error : undefined;
        run.costUsd = Number(d.costUsd ?? 0);
        run.inputTokens = usage.inputTokens ?? 0;
        run.outputTokens = usage.outputTokens ?? 0;
        return;
      }
      default:
        return;
    }
  }
}
