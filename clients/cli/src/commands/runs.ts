import type { Command } from 'commander';
import { headSeq, RunRenderer } from '../chat';
import { CliError, ExitCode } from '../errors';
import { SessionStream } from '../stream';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
type Rec = Record<string, any>;

const ROLES = ['planning', 'coding', 'review', 'testing', 'documentation'];
const positive = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${what} is a positive number (got "${v}")`, ExitCode.usage);
  return n;
};

/** Agent runs: start one in a session (and watch it), read one, stop one. */
export function runCommands(program: Command, run: Run): void {
  const runs = program.command('runs').description('agent runs: the planning, coding, review, testing and documentation agents');
  runs
    .command('start <session> <prompt...>')
    .description("start a run; --wait shows its steps as they happen and exits 0 only when it completed")
    .option('--roles <roles>', `comma-separated, in order (${ROLES.join(',')}); default: coding`)
    .option('--max-steps <n>', 'a limit on model calls', positive('--max-steps'))
    .option('--budget <usd>', 'a cost limit in dollars', positive('--budget'))
    .option('--timeout <ms>', 'a time limit', positive('--timeout'))
    .option('--wait', 'follow the run until it ends (Ctrl-C stops the run)')
    .action(
      run(async (ctx, sessionId: string, prompt: string[], o: { roles?: string; maxSteps?: number; budget?: number; timeout?: number; wait?: boolean }) => {
        const roles = o.roles?.split(',').map((r) => r.trim()).filter(Boolean);
        const unknown = roles?.find((r) => !ROLES.includes(r));
        if (unknown) throw new CliError(`"${unknown}" is not a role; roles: ${ROLES.join(', ')}`, ExitCode.usage);
        const body = {
          prompt: prompt.join(' '),
          ...(roles?.length ? { roles } : {}),
          ...(o.maxSteps ? { maxSteps: o.maxSteps } : {}),
          ...(o.budget ? { budgetUsd: o.budget } : {}),
          ...(o.timeout ? { timeoutMs: o.timeout } : {}),
        };
        if (!o.wait) {
          const r = await ctx.api.post<{ runId: string }>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/agent`, body);
          return ctx.out.result(r, () => ctx.out.line(`Run ${ctx.out.bold(r.runId)} started. Follow it: codeagent events ${sessionId} -f; see it: codeagent runs show ${r.runId}`));
        }
        await startAndWait(ctx, sessionId, body);
      }),
    );
  runs
    .command('show <run>')
    .description('a run: status, steps, tool calls, tokens, cost')
    .action(
      run(async (ctx, runId: string) => {
        const r = await ctx.api.get<Rec>(`/api/v1/agent-runs/${encodeURIComponent(runId)}`);
        ctx.out.result(r, () => {
          ctx.out.fields({ run: r.runId, session: r.sessionId, status: ctx.out.status(String(r.status)), roles: (r.roles as string[]).join(' → '), steps: (r.steps as Rec[]).length, tokens: `${r.usage.inputTokens} in, ${r.usage.outputTokens} out`, cost: `$${Number(r.costUsd).toFixed(4)}`, providers: (r.providers as string[]).join(', '), error: r.error, started: r.startedAt, ended: r.endedAt });
          if (r.result) ctx.out.line(`\n${r.result}`);
        });
      }),
    );
  runs
    .command('stop <run>')
    .description('stop a run')
    .action(
      run(async (ctx, runId: string) => {
        const r = await ctx.api.post<Rec>(`/api/v1/agent-runs/${encodeURIComponent(runId)}/interrupt`);
        ctx.out.result(r, () => ctx.out.line(r.interrupted ? `Run ${runId} stopped.` : `Run ${runId} had already ended (${r.status}).`));
      }),
    );
}

/** Subscribes first (so no step is missed), starts the run, renders it until its end; Ctrl-C stops it. */
async function startAndWait(ctx: Ctx, sessionId: string, body: Rec): Promise<void> {
  let runId: string | undefined;
  const ended = new Map<string, Rec>();
  let finish: ((r: Rec) => void) | undefined;
  const renderer = new RunRenderer(ctx, (s) => (ctx.out.json ? undefined : process.stdout.write(s)));
  const stream = new SessionStream({
    baseUrl: ctx.baseUrl,
    token: ctx.token,
    sessionId,
    since: await headSeq(ctx, sessionId),
    onEvent: (m) => {
      if (m.type === 'stream') return;
      if (ctx.out.json && m.type === 'status' && m.payload.kind === 'agent') ctx.out.line(JSON.stringify(m.payload));
      const done = renderer.render(m, undefined);
      if (!done) return;
      ended.set(done.runId, done);
      if (done.runId === runId) finish?.(done);
    },
  });
  await stream.connect();
  try {
    const started = await ctx.api.post<{ runId: string }>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/agent`, body);
    runId = started.runId;
    const onSigint = () => {
      process.stderr.write(`codeagent: stopping run ${runId}\n`);
      void ctx.api.post(`/api/v1/agent-runs/${runId}/interrupt`).catch((err: Error) => process.stderr.write(`codeagent: ${err.message}\n`));
    };
    process.on('SIGINT', onSigint);
    const done = ended.get(runId) ?? (await new Promise<Rec>((resolve) => (finish = resolve)));
    process.off('SIGINT', onSigint);
    if (done.status !== 'completed') process.exitCode = done.status === 'interrupted' ? ExitCode.interrupted : ExitCode.error;
  } finally {
    stream.close();
  }
}
