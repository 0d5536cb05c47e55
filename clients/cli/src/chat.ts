import readline from 'node:readline';
import { CliError, ExitCode } from './errors';
import type { AgentDataV1 } from '@codeagent/contracts';
import { SessionStream, type SessionMessage, type StreamMessage } from './stream';
import type { Ctx } from './context';

type Rec = Record<string, any>;

const ROLES: Record<string, string> = { '/plan': 'planning', '/code': 'coding', '/review': 'review', '/test': 'testing', '/doc': 'documentation' };

export const CHAT_HELP = `/plan, /code, /review, /test, /doc <prompt>   run one agent
/all <prompt>                                 the whole pipeline: plan, code, review, test, doc
/run <command>                                run a command in the session
/tasks                                        list tasks
/usage                                        tokens and cost by role and model
/help                                         this
plain text                                    the coding agent
Ctrl-C stops a running agent (or leaves when none runs); Ctrl-D leaves.`;

/** The session's newest sequence number: a stream that starts there shows only what happens next. */
export async function headSeq(ctx: Ctx, sessionId: string): Promise<number> {
  const s = await ctx.api.get<Rec>(`/api/v1/sessions/${encodeURIComponent(sessionId)}`);
  return typeof s.lastSeq === 'number' ? s.lastSeq : 0;
}

/** The bytes of a stream message (text, base64, or bytes on a binary subscription). */
export function bytesOf(m: StreamMessage): Buffer {
  const { data, encoding } = m.payload;
  if (typeof data !== 'string') return data instanceof Uint8Array ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
  return Buffer.from(data, encoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * Renders one run's events as they come: the model's text as it streams, a dim line per step with its
 * tool calls, and the run's outcome. The orchestrator records them as session events of kind `agent`
 * with `data.type` started | step | text | completed.
 */
export class RunRenderer {
  /** Steps whose text has already been shown through `text` deltas. */
  private streamed = new Set<number>();
  constructor(private readonly ctx: Ctx, private readonly write: (s: string) => void) {}

  /** Returns the completion when this event ends a run. */
  render(m: SessionMessage, runId: string | undefined): Extract<AgentDataV1, { type: 'completed' }> | undefined {
    if (m.type !== 'status') return undefined;
    const e = m.payload;
    if (e.kind === 'progress' || e.kind === 'signal') {
      this.write(signalLine(this.ctx, e.kind, e.data));
      return undefined;
    }
    if (e.kind !== 'agent') return undefined;
    const d = e.data;
    if (runId && d.runId !== runId) return undefined;
    const dim = this.ctx.out.dim;
    switch (d.type) {
      case 'started':
        this.write(dim(`[run ${d.runId}: ${d.roles.join(' → ')}]\n`));
        return undefined;
      case 'text':
        this.streamed.add(d.step);
        this.write(d.delta);
        return undefined;
      case 'step': {
        if (!this.streamed.has(d.index) && d.text) this.write(`${d.text}\n`);
        else if (this.streamed.has(d.index)) this.write('\n');
        for (const t of d.toolCalls) {
          this.write(dim(`  [${d.role}] ${t.tool} ${JSON.stringify(t.input ?? {}).slice(0, 160)}${t.error ? ` ✗ ${t.error}` : ''}\n`));
        }
        this.write(dim(`  [${d.role} step ${d.index}: ${d.provider}/${d.model}, ${d.usage.inputTokens} in, ${d.usage.outputTokens} out]\n`));
        return undefined;
      }
      case 'completed':
        this.write(
          `${this.ctx.out.status(d.status)}${dim(` (${d.steps} steps, ${d.usage.inputTokens} in, ${d.usage.outputTokens} out, $${d.costUsd.toFixed(4)})`)}${d.error ? ` ${this.ctx.out.red(d.error)}` : ''}\n`,
        );
        return d;
    }
  }
}

/** An agent's progress report or call for a person (MCP report_progress / signal_user), as one line. */
export function signalLine(ctx: Ctx, kind: 'progress' | 'signal', d: { message: string; from?: string; status?: string; percent?: number }): string {
  const from = d.from ? `${d.from}: ` : '';
  if (kind === 'signal') return `${ctx.out.bold(ctx.out.red(`⚑ ${from}needs you:`))} ${d.message}\n`;
  const how = [d.status, d.percent !== undefined ? `${d.percent}%` : undefined].filter(Boolean).join(', ');
  return ctx.out.dim(`[progress] ${from}${d.message}${how ? ` (${how})` : ''}\n`);
}

/** `codeagent chat`: a prompt in seed 003's `/command [args] [prompt]` format. */
export async function chat(ctx: Ctx, sessionId: string): Promise<void> {
  let currentRun: string | undefined;
  let runDone: (() => void) | undefined;
  // Runs whose end was seen, possibly before the POST that started them answered.
  const finished = new Set<string>();
  const out = (s: string) => process.stdout.write(s);
  const renderer = new RunRenderer(ctx, out);
  const stream = new SessionStream({
    baseUrl: ctx.baseUrl,
    token: ctx.token,
    sessionId,
    since: await headSeq(ctx, sessionId),
    onEvent: (m) => {
      if (m.type === 'stream') return void out(bytesOf(m).toString('utf8'));
      const ended = renderer.render(m, currentRun);
      if (!ended) return;
      finished.add(ended.runId);
      if (ended.runId === currentRun) runDone?.();
    },
  });
  await stream.connect();
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: ctx.out.bold('› '), terminal: Boolean(process.stdin.isTTY) });
  const onInterrupt = () => {
    if (currentRun) {
      out('\n[stopping the run]\n');
      void ctx.api.post(`/api/v1/agent-runs/${currentRun}/interrupt`).catch((err: Error) => process.stderr.write(`${err.message}\n`));
    } else rl.close();
  };
  rl.on('SIGINT', onInterrupt); // a terminal: readline turns Ctrl-C into this
  process.on('SIGINT', onInterrupt); // a pipe: the signal itself
  out(ctx.out.dim(`session ${sessionId}. /help for commands.\n`));
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    try {
      if (!line) {
        // nothing
      } else if (line === '/help') ctx.out.line(CHAT_HELP);
      else if (line.startsWith('/run ')) {
        const r = await ctx.api.post<Rec>(`/api/v1/sessions/${sessionId}/exec`, { command: line.slice(5) });
        out(String(r.stdout ?? ''));
        process.stderr.write(String(r.stderr ?? ''));
        ctx.out.line(ctx.out.dim(`[exit ${r.exitCode}, ${r.durationMs} ms]`));
      } else if (line === '/tasks') {
        const t = await ctx.api.get<Rec>('/api/v1/tasks');
        const rows = (Array.isArray(t) ? t : (t.tasks ?? t.items ?? [])) as Rec[];
        ctx.out.table(['id', 'status', 'title', 'owner'], rows.map((x) => [x.id, ctx.out.status(String(x.status)), x.title, x.owner ?? '']));
      } else if (line === '/usage') {
        const u = await ctx.api.get<Rec>('/api/v1/analytics/usage', { groupBy: 'role,model' });
        ctx.out.table(['role', 'model', 'input tokens', 'output tokens', 'cost (USD)'], ((u.rows ?? []) as Rec[]).map((r) => [r.key?.role ?? r.role, r.key?.model ?? r.model, r.inputTokens, r.outputTokens, Number(r.costUsd ?? 0).toFixed(4)]));
      } else {
        const [head, ...rest] = line.split(' ');
        const role = head ? ROLES[head] : undefined;
        const all = head === '/all';
        if (head?.startsWith('/') && !role && !all) throw new CliError(`unknown command ${head}; /help lists them`, ExitCode.usage);
        const prompt = role || all ? rest.join(' ').trim() : line;
        if (!prompt) throw new CliError(`${head} needs a prompt: ${head} <what to do>`, ExitCode.usage);
        const done = new Promise<void>((resolve) => (runDone = resolve));
        const r = await ctx.api.post<Rec>(`/api/v1/sessions/${sessionId}/agent`, { prompt, ...(role ? { roles: [role] } : all ? {} : { roles: ['coding'] }) });
        currentRun = String(r.runId);
        if (!finished.has(currentRun)) await done;
        currentRun = undefined;
      }
    } catch (err) {
      process.stderr.write(`${ctx.out.red((err as Error).message)}\n`);
    }
    rl.prompt();
  }
  process.off('SIGINT', onInterrupt);
  stream.close();
}
