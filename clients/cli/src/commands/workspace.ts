import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bytesOf } from '../chat';
import { CliError, ExitCode } from '../errors';
import { withSpinner } from '../output';
import { SessionStream } from '../stream';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
type Rec = Record<string, any>;

const sessionPath = (id: string, rest = '') => `/api/v1/sessions/${encodeURIComponent(id)}${rest}`;

/** One event as a line for people: its number, its kind, and what it says. */
export function describeEvent(e: { seq: number; kind: string; data?: unknown; at?: string }): string {
  const d = (e.data ?? {}) as Rec;
  const what = e.kind === 'output' ? `${d.stream}: ${String(d.data ?? '').replace(/\s+$/, '')}` : JSON.stringify(d);
  return `${String(e.seq).padStart(6)}  ${e.kind.padEnd(18)} ${what.length > 200 ? `${what.slice(0, 199)}…` : what}`;
}

/** A session's workspace and history: snapshots, fork, diff, files, events. */
export function workspaceCommands(program: Command, run: Run): void {
  const snapshots = program.command('snapshots').description("snapshots of a session's workspace");
  snapshots
    .command('create <session>')
    .description('snapshot the workspace now')
    .option('--label <label>', 'a name to recognise it by')
    .action(
      run(async (ctx, sessionId: string, o: { label?: string }) => {
        const s = await withSpinner(ctx.out, 'snapshotting the workspace', () => ctx.api.post<Rec>(sessionPath(sessionId, '/snapshots'), o.label ? { label: o.label } : {}));
        ctx.out.result(s, () => ctx.out.line(`Snapshot ${ctx.out.bold(String(s.snapshotId))}: ${s.files} files, ${s.bytes} bytes.`));
      }),
    );
  snapshots
    .command('list <session>')
    .description("the session's snapshots, oldest first")
    .action(
      run(async (ctx, sessionId: string) => {
        const r = await ctx.api.get<{ snapshots: Rec[] }>(sessionPath(sessionId, '/snapshots'));
        ctx.out.result(r.snapshots, () => ctx.out.table(['id', 'label', 'files', 'bytes', 'created'], r.snapshots.map((s) => [s.snapshotId, s.label ?? '', s.files, s.bytes, s.createdAt])));
      }),
    );

  snapshots
    .command('restore <session> <snapshot>')
    .description('put the workspace back to a snapshot, in place: the session keeps running and sees it at once')
    .action(
      run(async (ctx, sessionId: string, snapshotId: string) => {
        const r = await withSpinner(ctx.out, 'restoring the workspace', () => ctx.api.post<Rec>(sessionPath(sessionId, '/restore'), { snapshotId }));
        ctx.out.result(r, () => ctx.out.line(`Session ${sessionId} is back to snapshot ${snapshotId}.`));
      }),
    );

  program
    .command('fork <session>')
    .description('a new session whose workspace starts from this one (its live state, or a snapshot)')
    .option('--snapshot <id>', 'start from this snapshot of the session')
    .action(
      run(async (ctx, sessionId: string, o: { snapshot?: string }) => {
        const s = await withSpinner(ctx.out, 'forking the workspace', () => ctx.api.post<Rec>(sessionPath(sessionId, '/fork'), o.snapshot ? { snapshotId: o.snapshot } : {}));
        ctx.out.result(s, () => ctx.out.line(`Session ${ctx.out.bold(String(s.id))} (fork of ${sessionId}) is ${ctx.out.status(String(s.status))}.`));
      }),
    );

  program
    .command('diff <session>')
    .description('what changed in the workspace since the session started (or since a snapshot)')
    .option('--from <snapshot>', 'compare with this snapshot instead of the start')
    .action(
      run(async (ctx, sessionId: string, o: { from?: string }) => {
        const d = await withSpinner(ctx.out, 'comparing', () => ctx.api.get<Rec>(sessionPath(sessionId, '/diff'), { from: o.from }));
        ctx.out.result(d, () => {
          for (const [mark, list] of [['A', d.added], ['M', d.changed], ['D', d.removed]] as const) for (const f of list as string[]) ctx.out.line(`${mark} ${f}`);
          if (d.patch) ctx.out.line(String(d.patch).replace(/\n$/, ''));
          if (d.truncated) ctx.out.err.write('codeagent: the diff was cut at its size cap\n');
        });
      }),
    );

  const files = program.command('files').description("a session's workspace files");
  files
    .command('ls <session> [path]')
    .description("a folder's entries (default: the workspace's root)")
    .action(
      run(async (ctx, sessionId: string, p = '.') => {
        const r = await ctx.api.get<Rec>(sessionPath(sessionId, '/files'), { path: p });
        if (r.type !== 'dir') throw new CliError(`${p} is a file; read it with \`codeagent files get ${sessionId} ${p}\``, ExitCode.usage);
        ctx.out.result(r, () => ctx.out.table(['name', 'type', 'size'], (r.entries as Rec[]).map((e) => [e.name ?? e.path, e.type, e.size])));
      }),
    );
  files
    .command('get <session> <path>')
    .description("a file's content, to stdout or to a local file")
    .option('-o, --output <file>', 'write it to this local file instead')
    .action(
      run(async (ctx, sessionId: string, p: string, o: { output?: string }) => {
        const r = await ctx.api.get<Rec>(sessionPath(sessionId, '/files'), { path: p });
        if (r.type !== 'file') throw new CliError(`${p} is a folder; list it with \`codeagent files ls ${sessionId} ${p}\``, ExitCode.usage);
        const bytes = Buffer.from(String(r.content), r.encoding === 'base64' ? 'base64' : 'utf8');
        if (o.output) {
          writeFileSync(o.output, bytes);
          ctx.out.result({ path: r.path, size: r.size, written: o.output }, () => ctx.out.line(`Wrote ${r.size} bytes to ${o.output}.`));
        } else if (ctx.out.json) ctx.out.result(r, () => undefined);
        else process.stdout.write(bytes);
      }),
    );
  files
    .command('put <session> <path> [local]')
    .description('write a file of the workspace from a local file (or stdin when none or "-")')
    .action(
      run(async (ctx, sessionId: string, p: string, local?: string) => {
        const bytes = local && local !== '-' ? readFileSync(local) : readFileSync(0);
        const text = bytes.toString('utf8');
        // Text goes as text; anything that would not survive UTF-8 goes as base64.
        const body = Buffer.from(text, 'utf8').equals(bytes) ? { content: text, encoding: 'utf8' } : { content: bytes.toString('base64'), encoding: 'base64' };
        const r = await ctx.api.call<Rec>('PUT', `${sessionPath(sessionId, '/files')}?path=${encodeURIComponent(p)}`, body);
        ctx.out.result(r, () => ctx.out.line(`Wrote ${r.size} bytes to ${r.path}.`));
      }),
    );

  program
    .command('events <session>')
    .description("the session's event log after a sequence number; --follow keeps printing new events as they happen (Ctrl-C stops)")
    .option('--since <n>', 'only events after this sequence number', (v) => Number(v), 0)
    .option('-f, --follow', 'then wait for new events (one JSON line each with --json)')
    .action(
      run(async (ctx, sessionId: string, o: { since: number; follow?: boolean }) => {
        if (!Number.isInteger(o.since) || o.since < 0) throw new CliError('--since is a sequence number (0 or more)', ExitCode.usage);
        if (o.follow) return followEvents(ctx, sessionId, o.since);
        const all: Rec[] = [];
        let since = o.since;
        for (;;) {
          const page = await ctx.api.get<{ events: Rec[]; hasMore: boolean }>(sessionPath(sessionId, '/events'), { since });
          all.push(...page.events);
          if (!page.hasMore || page.events.length === 0) break;
          since = page.events.at(-1)!.seq;
        }
        ctx.out.result(all, () => (all.length ? all.forEach((e) => ctx.out.line(describeEvent(e as never))) : ctx.out.line(ctx.out.dim('(no events)'))));
      }),
    );
}

/** --follow: the session's live stream from `since` (replayed first), until Ctrl-C. */
async function followEvents(ctx: Ctx, sessionId: string, since: number): Promise<void> {
  const stream = new SessionStream({
    baseUrl: ctx.baseUrl,
    token: ctx.token,
    sessionId,
    since,
    onEvent: (m) => {
      if (m.type === 'error') return void ctx.out.err.write(`codeagent: ${m.payload.message}\n`);
      const e = m.type === 'stream' ? { sessionId, seq: m.payload.seq, kind: 'output', data: { stream: m.payload.stream, data: bytesOf(m).toString('utf8') } } : m.payload;
      ctx.out.line(ctx.out.json ? JSON.stringify(e) : describeEvent(e as never));
    },
  });
  // Checks the session exists (and is ours) first, so a wrong id is a clear NOT_FOUND.
  await ctx.api.get(sessionPath(sessionId));
  await stream.connect();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stream.close();
}
