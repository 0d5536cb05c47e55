import type { Command } from 'commander';
import { saveConfig, saveCredentials, type Config } from '../config';
import { CliError, ExitCode } from '../errors';
import { withSpinner } from '../output';
import type { Ctx } from '../context';
import { answerProjectChat } from './project-answer';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;

interface TokenReply { accessToken: string; refreshToken: string; expiresIn: number }

export function platformCommands(program: Command, run: Run): void {
  program
    .command('login')
    .description('get a token from a team-mode gateway and keep it in ~/.codeagent/credentials.json')
    .option('--api-key <key>', 'an API key (or set CODEAGENT_API_KEY)')
    .option('--user <name>', 'a user name, with --password')
    .option('--password <password>', 'the password (or set CODEAGENT_PASSWORD)')
    .action(
      run(async (ctx, o: { apiKey?: string; user?: string; password?: string }) => {
        const apiKey = o.apiKey ?? process.env.CODEAGENT_API_KEY;
        const password = o.password ?? process.env.CODEAGENT_PASSWORD;
        const body = apiKey
          ? { grantType: 'api_key', apiKey }
          : o.user && password
            ? { grantType: 'password', username: o.user, password }
            : undefined;
        if (!body) throw new CliError('say how to log in: --api-key KEY, or --user NAME with --password', ExitCode.usage);
        const t = await ctx.api.post<TokenReply>('/api/v1/auth/token', body);
        saveCredentials({ token: t.accessToken, refreshToken: t.refreshToken, user: o.user });
        ctx.out.result({ loggedIn: true, expiresIn: t.expiresIn }, () => ctx.out.line(`Logged in to ${ctx.baseUrl}; the token is in ~/.codeagent/credentials.json.`));
      }),
    );

  program
    .command('logout')
    .description('forget the token kept by `codeagent login` (API keys stay valid until revoked: `codeagent keys revoke`)')
    .action(
      run(async (ctx) => {
        const had = Boolean(ctx.creds.token);
        saveCredentials({});
        ctx.out.result({ loggedOut: had }, () => ctx.out.line(had ? 'Logged out; the token was removed from ~/.codeagent/credentials.json.' : 'Not logged in.'));
      }),
    );

  const config = program.command('config').description('show or change the CLI configuration (~/.codeagent/config.json)');
  config
    .command('show', { isDefault: true })
    .description('print the configuration')
    .action(run(async (ctx) => ctx.out.result(ctx.config, () => ctx.out.fields({ gatewayUrl: ctx.config.gatewayUrl, ...prefix(ctx.config.defaults) }))));
  config
    .command('set <key> <value>')
    .description('set gatewayUrl, or a default: defaults.project, defaults.network (none|open), defaults.memoryMb')
    .action(
      run(async (ctx, key: string, value: string) => {
        const next: Config = { ...ctx.config, defaults: { ...ctx.config.defaults } };
        if (key === 'gatewayUrl') {
          try {
            new URL(value);
          } catch {
            throw new CliError(`"${value}" is not a URL`, ExitCode.usage);
          }
          next.gatewayUrl = value.replace(/\/$/, '');
        } else if (key === 'defaults.project') next.defaults.project = value;
        else if (key === 'defaults.network') {
          if (value !== 'none' && value !== 'open') throw new CliError('defaults.network is none or open', ExitCode.usage);
          next.defaults.network = value;
        } else if (key === 'defaults.memoryMb') {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 16) throw new CliError('defaults.memoryMb is a whole number of MiB, at least 16', ExitCode.usage);
          next.defaults.memoryMb = n;
        } else throw new CliError(`unknown key "${key}"; keys: gatewayUrl, defaults.project, defaults.network, defaults.memoryMb`, ExitCode.usage);
        saveConfig(next);
        ctx.out.result(next, () => ctx.out.line(`${key} = ${value}`));
      }),
    );

  program
    .command('status')
    .description("the platform's health, service by service")
    .action(
      run(async (ctx) => {
        const res = await fetch(new URL('/health', ctx.baseUrl)).catch(() => {
          throw new CliError(`cannot reach the gateway at ${ctx.baseUrl}`, ExitCode.unavailable, 'start the platform with `npm start`');
        });
        const h = (await res.json()) as { status: string; services: Record<string, unknown> };
        ctx.out.result(h, () => {
          ctx.out.line(`${ctx.out.bold('codeagent')} at ${ctx.baseUrl}: ${ctx.out.status(h.status)}`);
          ctx.out.table(
            ['service', 'status', 'detail'],
            Object.entries(h.services ?? {}).map(([name, v]) => {
              const s = typeof v === 'string' ? { status: v } : (v as Record<string, unknown>);
              return [name, ctx.out.status(String(s.status ?? '?')), s.error ? String(s.error) : s.instances !== undefined ? `${s.instances} replica(s)` : ''];
            }),
          );
        });
        if (!res.ok) process.exitCode = ExitCode.unavailable;
      }),
    );

  const usage = withFilters(
    program
      .command('usage')
      .description('tokens and cost, grouped and filtered (a member sees their own)')
      .option('--group-by <fields>', 'provider,model,role,session,user,project', 'provider,model')
      .option('--interval <interval>', 'also by time: hour, day, week or month'),
  )
    .action(
      run(async (ctx, o: UsageOptions & { groupBy: string; interval?: string }) => {
        const r = await withSpinner(ctx.out, 'asking analytics', () =>
          ctx.api.get<{ rows?: Array<Record<string, unknown>>; totals?: Record<string, unknown> }>('/api/v1/analytics/usage', { groupBy: o.groupBy, interval: o.interval, ...filters(o) }),
        );
        ctx.out.result(r, () => {
          const rows = r.rows ?? [];
          const keys = [...(o.interval ? ['bucket'] : []), ...o.groupBy.split(',')];
          ctx.out.table([...keys, 'input tokens', 'output tokens', 'cost (USD)'], rows.map((row) => {
            const key = (row.key ?? row) as Record<string, unknown>;
            return [...keys.map((k) => String(key[k] ?? '')), num(row.inputTokens), num(row.outputTokens), usd(row.costUsd)];
          }));
          if (r.totals) ctx.out.line(ctx.out.dim(`total: ${num(r.totals.inputTokens)} in, ${num(r.totals.outputTokens)} out, $${usd(r.totals.costUsd)}`));
        });
      }),
    );
  withFilters(
    usage
      .command('latency')
      .description('response times (p50, p95, max in ms) of LLM calls and shell commands')
      .option('--group-by <fields>', 'provider,model,role', 'provider,model'),
  )
    .action(
      run(async (ctx, o: UsageOptions & { groupBy: string }) => {
        const r = await ctx.api.get<Record<string, any>>('/api/v1/analytics/latency', { groupBy: o.groupBy, ...filters(o) });
        ctx.out.result(r, () => ctx.out.line(JSON.stringify(r, null, 2)));
      }),
    );

  program
    .command('project-chat <project> [message...]')
    .description("talk to a project's chat (the same conversation as its CI socket); --answer: answer it yourself instead of its model")
    .option('--answer', "answer the project's questions from this terminal (one line each, oldest first) until Ctrl-D, Ctrl-C or exit")
    .action(
      run(async (ctx, project: string, message: string[], o: { answer?: boolean }) => {
        if (o.answer) {
          if (message.length) throw new CliError('--answer takes no message: the questions come from the project\'s clients', ExitCode.usage);
          return answerProjectChat(ctx, project);
        }
        if (!message.length) throw new CliError('say something: codeagent project-chat <project> <message...> (or --answer)', ExitCode.usage);
        const r = await withSpinner(ctx.out, `asking ${project}`, () =>
          ctx.api.post<{ response: string; project_name: string; ci_socket: string }>('/api/projects/chat', { project_name: project, message: message.join(' ') }),
        );
        ctx.out.result(r, () => ctx.out.line(r.response));
      }),
    );
}

interface UsageOptions {
  from?: string;
  to?: string;
  provider?: string;
  model?: string;
  role?: string;
  session?: string;
  user?: string;
  project?: string;
}
/** The filters the usage and latency reports share (the gateway's one set of usage filter parameters). */
const withFilters = (cmd: Command) =>
  cmd
    .option('--from <date>', 'ISO date or time')
    .option('--to <date>', 'ISO date or time')
    .option('--provider <name>', 'only this provider')
    .option('--model <id>', 'only this model')
    .option('--role <role>', 'only this agent role')
    .option('--session <id>', 'only this session')
    .option('--user <id>', 'only this user (admins)')
    .option('--project <id>', 'only this project');
const filters = (o: UsageOptions) => ({ from: o.from, to: o.to, provider: o.provider, model: o.model, role: o.role, session: o.session, user: o.user, project: o.project });

function prefix(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`defaults.${k}`, v]));
}
const num = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-US') : '');
const usd = (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : '');
