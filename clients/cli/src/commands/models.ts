import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors';
import { withSpinner } from '../output';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
type Rec = Record<string, any>;

const ROLES = ['planning', 'coding', 'review', 'testing', 'documentation'];
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `provider/model` (the model may itself hold slashes: `openrouter/meta/llama`). */
export function parseModelRef(v: string): { provider: string; model: string } {
  const i = v.indexOf('/');
  if (i <= 0 || i === v.length - 1) throw new CliError(`"${v}" is not provider/model (e.g. anthropic/claude-sonnet-4-5)`, ExitCode.usage);
  return { provider: v.slice(0, i), model: v.slice(i + 1) };
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

const ref = (r: { provider: string; model: string }) => `${r.provider}/${r.model}`;

/** A project by id or name, for the `--project` scopes (providers and roles may be set per project). */
async function projectScope(ctx: Ctx, idOrName?: string): Promise<string | undefined> {
  if (!idOrName) return undefined;
  return String((await ctx.api.get<Rec>(`/api/v1/projects/${encodeURIComponent(idOrName)}`)).id);
}

/** Seed 003's providers (with their models) and each agent role's model and fallbacks. */
export function modelCommands(program: Command, run: Run): void {
  const providers = program.command('providers').description('LLM providers and their models');
  providers
    .command('list', { isDefault: true })
    .description('providers: kind, key stored or not, circuit state, models')
    .option('--project <project>', "a project's own configuration (default: the global one)")
    .option('--refresh', 'ask local servers (Ollama, OpenAI-compatible) which models they have installed')
    .action(
      run(async (ctx, o: { project?: string; refresh?: boolean }) => {
        const projectId = await projectScope(ctx, o.project);
        const r = await withSpinner(ctx.out, 'asking the providers', () => ctx.api.get<{ providers: Rec[] }>('/api/v1/providers', { projectId, refreshModels: o.refresh ? 'true' : undefined }));
        ctx.out.result(r.providers, () =>
          ctx.out.table(
            ['name', 'kind', 'enabled', 'key', 'circuit', 'scope', 'models'],
            r.providers.map((p) => [p.name, p.kind, p.enabled ? 'yes' : 'no', p.hasKey ? `…${p.keyHint ?? ''}` : '', ctx.out.status(String(p.circuit)), p.scope, (p.models as Rec[]).length]),
          ),
        );
      }),
    );
  providers
    .command('models <provider>')
    .description("a provider's models: configured ones with context windows and prices, or (--available, --installed) what its own API lists, searched and paged")
    .option('--project <project>', "a project's own configuration")
    .option('--refresh', "ask a local server for what it has installed")
    .option('--available', "what the provider's own API offers (cloud: its model list; local: installed plus configured)")
    .option('--installed', 'what a local server (Ollama, LM Studio, OpenAI-compatible) has installed')
    .option('--query <text>', 'only models whose id or name contains this (with --available or --installed)')
    .option('--limit <n>', 'models a page (1-200, default 50)')
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .action(
      run(async (ctx, name: string, o: { project?: string; refresh?: boolean; available?: boolean; installed?: boolean; query?: string; limit?: string; cursor?: string }) => {
        if (o.available && o.installed) throw new CliError('--available or --installed, not both', ExitCode.usage);
        const projectId = await projectScope(ctx, o.project);
        if (o.available || o.installed) {
          const page = await withSpinner(ctx.out, `asking ${name}`, () =>
            ctx.api.get<{ models: Rec[]; total: number; nextCursor?: string }>(`/api/v1/providers/${encodeURIComponent(name)}/models`, {
              projectId,
              source: o.installed ? 'installed' : 'available',
              query: o.query,
              limit: o.limit,
              cursor: o.cursor,
            }),
          );
          ctx.out.result(page, () => {
            ctx.out.table(['model', 'name', 'size', 'context', 'installed'], page.models.map((m) => [m.id, m.displayName, m.sizeBytes === undefined ? '' : formatBytes(m.sizeBytes), m.contextWindow, m.installed === undefined ? '' : m.installed ? 'yes' : 'no']));
            if (page.nextCursor) ctx.out.line(ctx.out.dim(`${page.models.length} of ${page.total}; next page: --cursor ${page.nextCursor}`));
          });
          return;
        }
        if (o.query || o.limit || o.cursor) throw new CliError('--query, --limit and --cursor go with --available or --installed', ExitCode.usage);
        const r = await ctx.api.get<{ providers: Rec[] }>('/api/v1/providers', { projectId, refreshModels: o.refresh ? 'true' : undefined });
        const p = r.providers.find((x) => x.name === name);
        if (!p) throw new CliError(`no provider "${name}"`, ExitCode.notFound, 'see `codeagent providers list`');
        const models = p.models as Rec[];
        ctx.out.result(models, () =>
          ctx.out.table(['model', 'context', 'in $/MTok', 'out $/MTok', 'installed'], models.map((m) => [m.id, m.contextWindow, m.inputUsdPerMTok, m.outputUsdPerMTok, m.installed === undefined ? '' : m.installed ? 'yes' : 'no'])),
        );
      }),
    );
  providers
    .command('pull <provider> <model>')
    .description('install a model on a local server (admins): Ollama pull, LM Studio download, with its progress; --json prints each step as a JSON line')
    .option('--project <project>', "a project's own provider configuration")
    .action(
      run(async (ctx, name: string, model: string, o: { project?: string }) => {
        const projectId = await projectScope(ctx, o.project);
        const tty = !ctx.out.json && Boolean(ctx.out.err.isTTY);
        let last: Rec | undefined;
        let shown = '';
        for await (const step of ctx.api.lines<Rec>('POST', `/api/v1/providers/${encodeURIComponent(name)}/models/pull`, { model, ...(projectId ? { projectId } : {}) })) {
          last = step;
          if (ctx.out.json) {
            ctx.out.line(JSON.stringify(step));
            continue;
          }
          if (step.state !== 'running') continue;
          const text = `${step.status}${step.total ? ` ${formatBytes(step.completed ?? 0)}/${formatBytes(step.total)} (${Math.floor(((step.completed ?? 0) / step.total) * 100)}%)` : ''}`;
          // A terminal rewrites one line; a pipe gets a line each time the step (not just its bytes) changes.
          if (tty) ctx.out.err.write(`\r\x1b[K${text}`);
          else if (step.status !== shown) ctx.out.err.write(`${text}\n`);
          shown = step.status;
        }
        if (tty) ctx.out.err.write('\r\x1b[K');
        if (!last || last.state !== 'succeeded') throw new CliError(`${name} could not install ${model}: ${last?.error ?? 'the progress stream ended early'}`, ExitCode.error);
        if (!ctx.out.json) ctx.out.line(`Installed ${ctx.out.bold(model)} on ${name} (${last.status}).`);
      }),
    );
  providers
    .command('set <name>')
    .description('configure a provider (admins); the key is stored encrypted')
    .option('--kind <kind>', 'anthropic, openai, google, mistral, xai, ollama or openai-compatible (needed when the name is not a kind)')
    .option('--api-key <key>', 'its API key (or set CODEAGENT_PROVIDER_KEY); "" removes the stored key')
    .option('--base-url <url>', 'its API base URL (local servers, proxies)')
    .option('--enable', 'use it')
    .option('--disable', 'stop using it')
    .option('--model <id>', 'a model it serves beyond the built-in table (repeatable)', collect)
    .option('--project <project>', "only for this project (default: the global configuration)")
    .action(
      run(async (ctx, name: string, o: { kind?: string; apiKey?: string; baseUrl?: string; enable?: boolean; disable?: boolean; model?: string[]; project?: string }) => {
        if (o.enable && o.disable) throw new CliError('--enable or --disable, not both', ExitCode.usage);
        const apiKey = o.apiKey ?? process.env.CODEAGENT_PROVIDER_KEY;
        const projectId = await projectScope(ctx, o.project);
        const body = {
          ...(projectId ? { projectId } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...(o.baseUrl ? { baseURL: o.baseUrl } : {}),
          ...(o.enable || o.disable ? { enabled: Boolean(o.enable) } : {}),
          ...(o.model ? { models: o.model } : {}),
        };
        const p = await ctx.api.call<Rec>('PUT', `/api/v1/providers/${encodeURIComponent(name)}`, body);
        ctx.out.result(p, () => ctx.out.line(`Provider ${ctx.out.bold(String(p.name))} (${p.kind}) ${p.enabled ? 'enabled' : 'disabled'}${p.hasKey ? `, key …${p.keyHint ?? ''}` : ', no key'}.`));
      }),
    );

  const roles = program.command('roles').description("which provider and model each agent role uses, and its fallbacks");
  roles
    .command('list', { isDefault: true })
    .description("every role's model and fallbacks")
    .option('--project <project>', "a project's own configuration")
    .action(
      run(async (ctx, o: { project?: string }) => {
        const projectId = await projectScope(ctx, o.project);
        const r = await ctx.api.get<{ roles: Record<string, Rec> }>('/api/v1/agents', { projectId });
        ctx.out.result(r, () =>
          ctx.out.table(['role', 'model', 'fallbacks'], Object.entries(r.roles).map(([role, c]) => [role, ref(c as never), (c.fallbacks as Rec[]).map((f) => ref(f as never)).join(', ')])),
        );
      }),
    );
  roles
    .command('set <role> <provider/model>')
    .description(`set a role's model and its fallbacks, tried in order (admins); roles: ${ROLES.join(', ')}`)
    .option('--fallback <provider/model>', 'a fallback, tried in the order given (repeatable)', collect)
    .option('--project <project>', 'only for this project')
    .action(
      run(async (ctx, role: string, model: string, o: { fallback?: string[]; project?: string }) => {
        if (!ROLES.includes(role)) throw new CliError(`"${role}" is not a role; roles: ${ROLES.join(', ')}`, ExitCode.usage);
        const config = { ...parseModelRef(model), fallbacks: (o.fallback ?? []).map(parseModelRef) };
        const projectId = await projectScope(ctx, o.project);
        const r = await ctx.api.call<{ roles: Record<string, Rec> }>('PUT', `/api/v1/agents/${role}`, { ...(projectId ? { projectId } : {}), config });
        ctx.out.result(r, () => ctx.out.line(`${role}: ${model}${config.fallbacks.length ? `, then ${config.fallbacks.map(ref).join(', ')}` : ''}.`));
      }),
    );
}
