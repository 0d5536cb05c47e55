import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
type Rec = Record<string, any>;

const collect = (v: string, prev: string[] = []) => [...prev, v];
const base = (session: string) => `/api/v1/sessions/${encodeURIComponent(session)}/agents/external`;

/** `--env KEY=VALUE` pairs as an object (values may hold `=`). */
function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`--env takes KEY=VALUE (got "${p}")`, ExitCode.usage);
    env[p.slice(0, i)] = p.slice(i + 1);
  }
  return env;
}

function describe(ctx: Ctx, a: Rec): void {
  ctx.out.table(
    ['name', 'status', 'restarts', 'last exit', 'started', 'command'],
    [[a.name, a.status, a.restarts, a.lastExitCode ?? '', a.startedAt, [a.command, ...(a.args ?? [])].join(' ')]],
  );
}

/**
 * `codeagent agent ...`: outside CLI agents (Claude Code, Codex, Aider...) in a session's jail, in a
 * tmux session under a supervisor (API.md "Outside agents in a session"), and SSH to attach to one.
 */
export function agentCommands(program: Command, run: Run): void {
  const agent = program.command('agent').description("outside CLI agents in a session's jail (tmux + supervisor)");
  agent
    .command('start <session> <name> <command> [args...]')
    .description('run a command in the jail under a supervisor (restarts on crashes); put options before the command, or `--` before its own')
    .option('--env <KEY=VALUE>', 'environment for it, e.g. an API key (repeatable; never shown again)', collect, [])
    .option('--max-failures <n>', 'straight crashes before giving up', '5')
    .option('--base-delay-ms <ms>', 'first restart delay, doubled for each further straight crash', '2000')
    .action(
      run(async (ctx, session: string, name: string, command: string, args: string[], o: { env: string[]; maxFailures: string; baseDelayMs: string }) => {
        const a = await ctx.api.post<Rec>(base(session), {
          name,
          command,
          args,
          env: parseEnv(o.env),
          restart: { maxFailures: Number(o.maxFailures), baseDelayMs: Number(o.baseDelayMs) },
        });
        ctx.out.result(a, () => {
          ctx.out.line(`Started ${ctx.out.bold(String(a.name))} in ${session}; its state folder is ${a.stateDir}.`);
          ctx.out.line(`Attach: codeagent agent attach ${session} ${a.name}   (tmux: Ctrl-b d detaches, the agent keeps running)`);
        });
      }),
    );
  agent
    .command('status <session> [name]')
    .description("an agent's state (running, backoff, exited, gave-up), or every agent of the session")
    .action(
      run(async (ctx, session: string, name?: string) => {
        if (name) {
          const a = await ctx.api.get<Rec>(`${base(session)}/${encodeURIComponent(name)}`);
          return ctx.out.result(a, () => describe(ctx, a));
        }
        const r = await ctx.api.get<{ agents: Rec[] }>(base(session));
        ctx.out.result(r, () =>
          ctx.out.table(['name', 'status', 'restarts', 'last exit', 'command'], r.agents.map((a) => [a.name, a.status, a.restarts, a.lastExitCode ?? '', [a.command, ...(a.args ?? [])].join(' ')])),
        );
      }),
    );
  agent
    .command('send <session> <name> [text...]')
    .description('type text into the agent (tmux send-keys); --enter presses Enter after it, --key sends key names such as C-c')
    .option('--enter', 'press Enter after the text')
    .option('--key <key>', 'a tmux key name, e.g. C-c, Enter, Up (repeatable; sent after the text)', collect, [])
    .action(
      run(async (ctx, session: string, name: string, text: string[], o: { enter?: boolean; key: string[] }) => {
        const path = `${base(session)}/${encodeURIComponent(name)}/keys`;
        const line = text.join(' ');
        if (!line && o.key.length === 0 && !o.enter) throw new CliError('nothing to send: give text, --key or --enter', ExitCode.usage);
        if (line) await ctx.api.post(path, { keys: line, enter: false });
        if (o.key.length) await ctx.api.post(path, { keys: o.key, enter: false });
        if (o.enter) await ctx.api.post(path, { keys: ['Enter'], enter: false });
        ctx.out.result({ ok: true }, () => undefined);
      }),
    );
  agent
    .command('screen <session> <name>')
    .description("the agent's screen (tmux capture-pane)")
    .option('--lines <n>', 'how many of the last lines', '50')
    .action(
      run(async (ctx, session: string, name: string, o: { lines: string }) => {
        const s = await ctx.api.get<Rec>(`${base(session)}/${encodeURIComponent(name)}/screen`, { lines: o.lines });
        ctx.out.result(s, () => ctx.out.line(String(s.text)));
      }),
    );
  agent
    .command('stop <session> <name>')
    .description('stop the supervisor and end the agent')
    .action(
      run(async (ctx, session: string, name: string) => {
        const r = await ctx.api.delete<Rec>(`${base(session)}/${encodeURIComponent(name)}`);
        ctx.out.result(r, () => ctx.out.line(r.stopped ? `Stopped ${name}.` : `${name} had already ended.`));
      }),
    );
  agent
    .command('attach <session> <name>')
    .description("the agent's tmux session over SSH (ssh -p <port> <session>+<name>@host); Ctrl-b d detaches, the agent keeps running")
    .option('--ssh-port <port>', "the gateway's SSH port (GATEWAY_SSH_PORT)", '2222')
    .option('-i, --identity <file>', 'the private key to use (one registered with `POST /api/v1/users/me/ssh-keys`)')
    .action(
      run(async (ctx, session: string, name: string, o: { sshPort: string; identity?: string }) => {
        const host = new URL(ctx.baseUrl).hostname;
        const args = ['-t', '-p', o.sshPort, ...(o.identity ? ['-i', o.identity] : []), `${session}+${name}@${host}`];
        const r = spawnSync('ssh', args, { stdio: 'inherit' });
        if (r.error) throw new CliError(`could not run ssh: ${r.error.message}`, ExitCode.usage, 'install an OpenSSH client (Debian: openssh-client)');
        if (r.status) process.exitCode = r.status;
      }),
    );
}
