import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { readCache, writeCache } from '../config';
import { CliError, ExitCode } from '../errors';
import { listOf } from '../http';
import { withSpinner } from '../output';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
type Rec = Record<string, any>;

/** A project is named by id or by name. */
async function projectId(ctx: Ctx, idOrName: string): Promise<string> {
  const all = listOf<Rec>(await ctx.api.get('/api/v1/projects'), 'projects');
  const p = all.find((x) => x.id === idOrName || x.name === idOrName);
  if (!p) throw new CliError(`no project "${idOrName}"`, ExitCode.notFound, 'see `codeagent projects list`');
  return String(p.id);
}

/** `--network none|open|allow:host1,host2` as the API's `sandbox.network` (the gateway validates the hosts). */
export function parseNetwork(value: string): 'none' | 'open' | { allow: string[] } {
  if (value === 'none' || value === 'open') return value;
  const m = /^allow:(.*)$/.exec(value);
  if (!m) throw new CliError(`--network is none, open or allow:host1,host2 (got "${value}")`, ExitCode.usage);
  return { allow: m[1]!.split(',').map((h) => h.trim()).filter(Boolean) };
}

/** networkInForce for people: the mode, what it allows, and what the jail's namespace really has. */
export function describeNetwork(n: Rec | undefined): string | undefined {
  if (!n || typeof n !== 'object') return undefined;
  const parts = [String(n.mode)];
  if (Array.isArray(n.allow)) parts.push(n.allow.length ? `only ${n.allow.join(', ')}` : 'no host but credentials');
  if (Array.isArray(n.credentials) && n.credentials.length) parts.push(`keys added for ${n.credentials.join(', ')}`);
  if (n.proxy) parts.push(`through ${n.proxy}`);
  if (Array.isArray(n.allowAddresses) && n.allowAddresses.length) parts.push(`also ${n.allowAddresses.join(', ')}`);
  parts.push(`interfaces ${Array.isArray(n.interfaces) ? n.interfaces.join(',') : '?'}, ${n.routes ?? '?'} routes out`);
  return parts.join('; ');
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

const isGitUrl = (s: string) => /^(https?|git|ssh|file):\/\//.test(s) || /^[\w.-]+@[\w.-]+:/.test(s) || s.endsWith('.git');

export function resourceCommands(program: Command, run: Run): void {
  const projects = program.command('projects').description('projects: the code sessions are opened on');
  projects
    .command('add <source>')
    .description('add a project from a local folder or a git URL')
    .option('--name <name>', 'its name (default: the folder or repository name)')
    .option('--ref <ref>', 'git ref to check out (git URLs)')
    .action(
      run(async (ctx, source: string, o: { name?: string; ref?: string }) => {
        const git = isGitUrl(source);
        const abs = git ? source : path.resolve(source);
        if (!git && !existsSync(abs)) throw new CliError(`${abs} does not exist`, ExitCode.usage);
        const name = o.name ?? path.basename(abs).replace(/\.git$/, '');
        const p = await ctx.api.post<Rec>('/api/v1/projects', { name, source: git ? { git: abs, ...(o.ref ? { ref: o.ref } : {}) } : { path: abs } });
        ctx.out.result(p, () => {
          ctx.out.line(`Added project ${ctx.out.bold(String(p.name))} (${p.id}).`);
          if (p.socketPort) ctx.out.line(ctx.out.dim(`Its chat socket: 127.0.0.1:${p.socketPort}`));
        });
      }),
    );
  projects
    .command('list')
    .description('list projects')
    .action(
      run(async (ctx) => {
        const all = listOf<Rec>(await ctx.api.get('/api/v1/projects'), 'projects');
        ctx.out.result(all, () => ctx.out.table(['id', 'name', 'source', 'chat port'], all.map((p) => [p.id, p.name, p.source?.path ?? p.source?.git ?? '', p.socketPort])));
      }),
    );
  projects
    .command('show <project>')
    .description('one project (by id or name)')
    .action(
      run(async (ctx, idOrName: string) => {
        const p = await ctx.api.get<Rec>(`/api/v1/projects/${await projectId(ctx, idOrName)}`);
        ctx.out.result(p, () => {
          ctx.out.fields({ ...p, discovery: undefined });
          const d = p.discovery as Rec | undefined;
          if (!d) return ctx.out.line(ctx.out.dim('discovery  not yet (a git project is discovered with its first session)'));
          // What its files ask for, and so where its sessions run (API.md "Project discovery").
          ctx.out.line(`${ctx.out.bold('runs in')}    ${d.driver === 'docker' ? 'Docker' : 'a Bubblewrap jail'} (${d.tier}${d.languages?.length ? `: ${d.languages.join(', ')}` : ''}${d.image ? `, image ${d.image}` : ''}${d.dockerfile ? `, built from ${d.dockerfile}` : ''})`);
          if (d.setupCommand) ctx.out.line(`${ctx.out.dim('setup')}      ${d.setupCommand}`);
          if (d.testCommand) ctx.out.line(`${ctx.out.dim('test')}       ${d.testCommand}`);
          if (d.missing?.length) ctx.out.line(`${ctx.out.dim('missing')}    ${d.missing.join(', ')} (not on the sandbox host)`);
          for (const u of (d.devcontainer?.unsupported ?? []) as string[]) ctx.out.line(`${ctx.out.dim('unsupported')} ${u}`);
        });
      }),
    );
  projects
    .command('rm <project>')
    .description('delete a project (its chat socket closes)')
    .action(
      run(async (ctx, idOrName: string) => {
        const id = await projectId(ctx, idOrName);
        await ctx.api.delete(`/api/v1/projects/${id}`);
        ctx.out.result({ deleted: id }, () => ctx.out.line(`Deleted project ${idOrName}.`));
      }),
    );

  const sessions = program.command('sessions').description('sessions: a workspace and a jailed shell');
  sessions
    .command('new')
    .description('open a session')
    .option('--project <project>', 'project id or name (default: defaults.project)')
    .option('--path <folder>', 'a folder to work on, without a project')
    .option('--network <mode>', 'none, open, or allow:host1,host2 (exact names, *.wildcards, optional :port)')
    .option('--credential <provider>', "let code in the jail call this configured provider's API; the key is added outside the jail (repeatable)", collect)
    .option('--memory <MiB>', 'memory limit', toInt)
    .option('--pids <n>', 'process limit', toInt)
    .option('--cpu <seconds>', 'CPU-time limit', toInt)
    .option('--disk <MiB>', 'disk quota', toInt)
    .option('--driver <driver>', "bubblewrap or docker, instead of what the project's files ask for")
    .option('--fallback-to-bubblewrap', 'when the project runs in Docker and this host has no engine, use a jail instead of failing')
    .action(
      run(async (ctx, o: { project?: string; path?: string; network?: string; credential?: string[]; memory?: number; pids?: number; cpu?: number; disk?: number; driver?: string; fallbackToBubblewrap?: boolean }) => {
        if (o.driver !== undefined && o.driver !== 'bubblewrap' && o.driver !== 'docker') throw new CliError(`--driver is bubblewrap or docker, not ${o.driver}`, ExitCode.usage);
        const asked = o.network ?? ctx.config.defaults.network;
        const network = asked === undefined ? undefined : parseNetwork(asked);
        const credentials = o.credential?.length ? o.credential : undefined;
        const project = o.project ?? (o.path ? undefined : ctx.config.defaults.project);
        if (!project && !o.path) throw new CliError('say what to work on: --project P or --path FOLDER', ExitCode.usage);
        const sandbox = Object.fromEntries(
          Object.entries({ network, credentials, memoryMb: o.memory ?? ctx.config.defaults.memoryMb, pids: o.pids, cpuSeconds: o.cpu, diskMb: o.disk }).filter(([, v]) => v !== undefined),
        );
        const body = project ? { projectId: await projectId(ctx, project) } : { source: { path: path.resolve(o.path!) } };
        const s = await withSpinner(ctx.out, 'preparing the workspace and the sandbox', () => ctx.api.post<Rec>('/api/v1/sessions', { ...body, ...(Object.keys(sandbox).length ? { sandbox } : {}), ...(o.driver ? { driver: o.driver } : {}), ...(o.fallbackToBubblewrap ? { fallbackToBubblewrap: true } : {}) }));
        ctx.out.result(s, () => {
          ctx.out.line(`Session ${ctx.out.bold(String(s.id))} is ${ctx.out.status(String(s.status))}${s.container ? ` in Docker (container ${s.container})` : ''}. Try: codeagent run ${s.id} -- ls`);
          if (s.driverNote) ctx.out.line(ctx.out.dim(String(s.driverNote)));
        });
      }),
    );
  sessions
    .command('list')
    .description('your sessions')
    .action(
      run(async (ctx) => {
        const all = listOf<Rec>(await ctx.api.get('/api/v1/sessions'), 'sessions');
        ctx.out.result(all, () => ctx.out.table(['id', 'status', 'project', 'user', 'created'], all.map((s) => [s.id, ctx.out.status(String(s.status)), s.projectId ?? '', s.user ?? s.owner ?? '', s.createdAt])));
      }),
    );
  sessions
    .command('show <session>')
    .description('one session')
    .action(run(async (ctx, id: string) => {
      const s = await ctx.api.get<Rec>(`/api/v1/sessions/${encodeURIComponent(id)}`);
      ctx.out.result(s, () => ctx.out.fields({ ...s, networkInForce: describeNetwork(s.networkInForce) }));
    }));
  sessions
    .command('close <session>')
    .description('close a session: every process of it ends')
    .action(run(async (ctx, id: string) => {
      const s = await withSpinner(ctx.out, 'closing', () => ctx.api.delete<Rec>(`/api/v1/sessions/${encodeURIComponent(id)}`));
      ctx.out.result(s ?? { id, status: 'closed' }, () => ctx.out.line(`Session ${id} closed.`));
    }));

  sessions
    .command('interrupt <session>')
    .description('interrupt the command running in a session')
    .action(run(async (ctx, id: string) => {
      const r = await ctx.api.post<Rec>(`/api/v1/sessions/${encodeURIComponent(id)}/interrupt`);
      ctx.out.result(r, () => ctx.out.line(`Session ${id}: interrupted.`));
    }));

  const tasks = program.command('tasks').description("tasks (kept in sync with a project's docs/TASKS.md)");
  tasks
    .command('list', { isDefault: true })
    .description('list tasks (from the local cache when the platform cannot be reached)')
    .option('--project <project>', 'only this project')
    .option('--status <status>', 'only this status')
    .action(
      run(async (ctx, o: { project?: string; status?: string }) => {
        let all: Rec[];
        let offline = false;
        try {
          all = listOf<Rec>(await ctx.api.get('/api/v1/tasks', { projectId: o.project, status: o.status }), 'tasks');
          if (!o.project && !o.status) writeCache('tasks', all);
        } catch (err) {
          const cached = readCache<Rec[]>('tasks');
          if (!(err instanceof CliError) || err.exitCode !== ExitCode.unavailable || !cached) throw err;
          all = cached.data.filter((t) => (!o.status || t.status === o.status) && (!o.project || t.projectId === o.project));
          offline = true;
          ctx.out.err.write(`(offline: tasks as cached at ${cached.savedAt})\n`);
        }
        ctx.out.result(offline ? { offline: true, tasks: all } : all, () =>
          ctx.out.table(['id', 'status', 'title', 'owner'], all.map((t) => [t.id, ctx.out.status(String(t.status)), t.title, t.owner ?? ''])),
        );
      }),
    );
  tasks
    .command('add <title...>')
    .description('add a task')
    .option('--project <project>', 'project id or name')
    .option('--owner <owner>', 'who owns it')
    .option('--description <text>', 'what it is about')
    .option('--status <status>', 'todo (the default), in_progress, blocked, review, done, cancelled')
    .action(
      run(async (ctx, title: string[], o: { project?: string; owner?: string; description?: string; status?: string }) => {
        const projectIdValue = o.project ? await projectId(ctx, o.project) : undefined;
        const t = await ctx.api.post<Rec>('/api/v1/tasks', { title: title.join(' '), ...(projectIdValue ? { projectId: projectIdValue } : {}), ...(o.owner ? { owner: o.owner } : {}), ...(o.description ? { description: o.description } : {}), ...(o.status ? { status: o.status } : {}) });
        ctx.out.result(t, () => ctx.out.line(`Task ${t.id} added.`));
      }),
    );
  tasks
    .command('update <task>')
    .description('change status or owner, or add a progress note')
    .option('--status <status>', 'todo, in_progress, blocked, review, done, cancelled')
    .option('--owner <owner>', 'new owner')
    .option('--title <title>', 'new title')
    .option('--description <text>', 'new description')
    .option('--note <text>', 'a progress note')
    .action(
      run(async (ctx, id: string, o: { status?: string; owner?: string; title?: string; description?: string; note?: string }) => {
        const patch = Object.fromEntries(Object.entries({ status: o.status, owner: o.owner, title: o.title, description: o.description, note: o.note }).filter(([, v]) => v !== undefined));
        if (Object.keys(patch).length === 0) throw new CliError('nothing to update: give --status, --owner, --title, --description or --note', ExitCode.usage);
        const t = await ctx.api.patch<Rec>(`/api/v1/tasks/${encodeURIComponent(id)}`, patch);
        ctx.out.result(t, () => ctx.out.line(`Task ${id}: ${ctx.out.status(String(t.status))}`));
      }),
    );
  tasks
    .command('show <task>')
    .description('a task with its description, links and progress notes')
    .action(run(async (ctx, id: string) => {
      const t = await ctx.api.get<Rec>(`/api/v1/tasks/${encodeURIComponent(id)}`);
      ctx.out.result(t, () => {
        ctx.out.fields({ ...t, notes: undefined });
        for (const n of (t.notes ?? []) as Rec[]) ctx.out.line(`  ${ctx.out.dim(String(n.at))} ${n.author ?? ''}: ${n.text}`);
      });
    }));
  tasks
    .command('rm <task>')
    .description('delete a task (its TASKS.md line goes too)')
    .action(run(async (ctx, id: string) => {
      const r = await ctx.api.delete<Rec>(`/api/v1/tasks/${encodeURIComponent(id)}`);
      if (r && r.deleted === false) throw new CliError(`no task ${id}`, ExitCode.notFound);
      ctx.out.result(r ?? { deleted: true }, () => ctx.out.line(`Task ${id} deleted.`));
    }));
  tasks
    .command('done <task>')
    .description('mark a task done')
    .action(run(async (ctx, id: string) => {
      const t = await ctx.api.patch<Rec>(`/api/v1/tasks/${encodeURIComponent(id)}`, { status: 'done' });
      ctx.out.result(t, () => ctx.out.line(`Task ${id} is done.`));
    }));
}

function toInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`"${v}" is not a positive whole number`, ExitCode.usage);
  return n;
}
