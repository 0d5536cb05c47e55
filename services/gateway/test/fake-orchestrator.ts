import { Bus } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';
import { catalog } from '@codeagent/contracts';

interface Ev {
  sessionId: string;
  seq: number;
  kind: string;
  data: unknown;
  at: string;
}

/**
 * A small orchestrator for the gateway's tests: real messages through the real broker, answering
 * orchestrator.* commands from memory. It enforces no ownership at all, so a test that sees a refusal
 * proves the gateway's own check. Its sessions' jails are on a fake shell replica of its own (shell.*
 * commands to `shellInstanceId`, recorded in `received` too), where the gateway sends their commands.
 */
export class FakeOrchestrator {
  readonly sessions = new Map<string, Record<string, any>>();
  readonly tasks = new Map<string, Record<string, any>>();
  readonly runs = new Map<string, { runId: string; sessionId: string; user: string }>();
  readonly projects = new Map<string, Record<string, any>>();
  readonly log = new Map<string, Ev[]>();
  /** Sessions whose storage is held: replays serve their log up to this seq only (storing trails the live stream). */
  private readonly storedUpTo = new Map<string, number>();
  /** Every command received, with the metadata.user it carried. */
  readonly received: Array<{ name: string; user?: string; payload: unknown }> = [];
  private n = 0;

  private shellBus?: Bus;
  shellInstanceId = `fake-shell-${process.pid}-${Date.now()}`;

  private constructor(
    readonly bus: Bus,
    private readonly url: string,
  ) {}

  static async start(url: string): Promise<FakeOrchestrator> {
    const bus = await Bus.connect({ url, service: 'orchestrator', instanceId: `fake-orch-${process.pid}-${Date.now()}`, logger: testLogger() });
    const o = new FakeOrchestrator(bus, url);
    const handlers: Record<string, (p: any, ctx: any) => Promise<unknown>> = {};
    for (const name of Object.keys(catalog.commands)) {
      if ((catalog.commands as Record<string, { service: string }>)[name]!.service !== 'orchestrator') continue;
      handlers[name] = async (p, ctx) => {
        o.received.push({ name, user: ctx.metadata.user, payload: p });
        const h = (o as unknown as Record<string, (p: any, user: string) => Promise<unknown>>)[name.replace('orchestrator.', '').replace(/\./g, '_')];
        if (!h) return {};
        return h.call(o, p, ctx.metadata.user);
      };
    }
    await bus.handleCommands('orchestrator', handlers as never);
    await o.startShell();
    return o;
  }

  /** The fake shell replica holding every session's jail, on its own queue (`shellInstanceId`). */
  private async startShell(): Promise<void> {
    this.shellBus = await Bus.connect({ url: this.url, service: 'shell', instanceId: this.shellInstanceId, logger: testLogger() });
    const shell: Record<string, (p: any, ctx: any) => Promise<unknown>> = {};
    for (const name of Object.keys(catalog.commands)) {
      if ((catalog.commands as Record<string, { service: string }>)[name]!.service !== 'shell') continue;
      shell[name] = async (p, ctx) => {
        this.received.push({ name, user: ctx.metadata.user, payload: p });
        if (name === 'shell.exec') return this.session_exec(p);
        if (name === 'shell.interrupt') return this.session_interrupt(p);
        if (name.startsWith('shell.pty.')) return this.session_resize(p);
        return {};
      };
    }
    await this.shellBus.handleCommands('shell', shell as never);
  }

  /**
   * The shell replica goes away (its queue with it). `moveJails`: a new replica takes the jails and
   * the sessions say so; otherwise the sessions still name the replica that is gone.
   */
  async stopShell(opts: { moveJails: boolean }): Promise<void> {
    await this.shellBus?.close(1_000);
    this.shellBus = undefined;
    if (!opts.moveJails) return;
    this.shellInstanceId = `fake-shell-${process.pid}-${Date.now()}-moved`;
    for (const s of this.sessions.values()) s.shellInstanceId = this.shellInstanceId;
    await this.startShell();
  }

  /**
   * The shell replica stops and, `downMs` later, starts again under the same name, as one that adopts
   * its kept jails does: resolves once it is down, with its return.
   */
  async restartShell(downMs: number): Promise<{ back: Promise<void> }> {
    await this.shellBus?.close(1_000);
    this.shellBus = undefined;
    return { back: new Promise((r) => setTimeout(r, downMs)).then(() => this.startShell()) };
  }

  /**
   * Holds storing a session's events from now on: they are still published live, but a replay does
   * not see them until the returned function is called (as when the real orchestrator's storage trails).
   */
  holdStorage(sessionId: string): () => void {
    this.storedUpTo.set(sessionId, this.log.get(sessionId)?.length ?? 0);
    return () => this.storedUpTo.delete(sessionId);
  }

  /** Stores an event and publishes it, as the real orchestrator does (store first, then publish). */
  async emit(sessionId: string, kind: string, data: unknown, opts: { publish?: boolean } = {}): Promise<Ev> {
    const list = this.log.get(sessionId) ?? [];
    this.log.set(sessionId, list);
    const e = { sessionId, seq: list.length + 1, kind, data, at: new Date().toISOString() };
    list.push(e);
    if (opts.publish ?? true) await (this.bus as any).publish('session.event', e);
    return e;
  }

  addSession(owner: string): string {
    const id = `ses_${++this.n}_${owner}`;
    const now = new Date().toISOString();
    this.sessions.set(id, {
      id, owner, status: 'ready', shellInstanceId: this.shellInstanceId, source: { kind: 'empty' }, sandbox: {}, workspacePolicy: 'remove', lastSeq: 0,
      createdAt: now, updatedAt: now, lastActivityAt: now,
    });
    return id;
  }

  private session(id: string) {
    const s = this.sessions.get(id);
    if (!s) throw new AppError('NOT_FOUND', `no session ${id}`);
    return s;
  }

  async ping() {
    return { service: 'orchestrator', instanceId: 'fake', status: 'ok', uptimeSeconds: 1, version: 'test' };
  }
  async session_create(p: { owner?: string }, user: string) {
    const id = this.addSession(p.owner ?? user);
    return this.sessions.get(id)!;
  }
  async session_list() {
    return { sessions: [...this.sessions.values()] };
  }
  async session_get(p: { sessionId: string }) {
    return this.session(p.sessionId);
  }
  async session_close(p: { sessionId: string }) {
    const s = this.session(p.sessionId);
    s.status = 'closed';
    return s;
  }
  async session_interrupt(p: { sessionId: string }) {
    this.session(p.sessionId);
    return { interrupted: true };
  }
  async session_resize(p: { sessionId: string }) {
    this.session(p.sessionId);
    return { ok: true };
  }
  async session_events(p: { sessionId: string; since: number; limit?: number }) {
    const held = this.storedUpTo.get(p.sessionId);
    const all = (this.log.get(p.sessionId) ?? []).filter((e) => held === undefined || e.seq <= held);
    const limit = p.limit ?? 500;
    const events = all.filter((e) => e.seq > p.since).slice(0, limit);
    return { events, hasMore: all.filter((e) => e.seq > p.since).length > limit, lastSeq: all.length };
  }
  /** `echo <text>` prints text; `quiet <text>` too, its events lost on the live path; `spam <n> <bytes>` prints n chunks of that many bytes; `wait <ms>` takes that long; anything else prints nothing. */
  async session_exec(p: { sessionId: string; command: string; commandId?: string }) {
    this.session(p.sessionId);
    const commandId = p.commandId ?? `cmd_${++this.n}`;
    const [verb, ...rest] = p.command.split(' ');
    let stdout = '';
    // `quiet <text>`: as echo, but the live path loses every event of it (stored, never published).
    const live = verb !== 'quiet';
    if (verb === 'quiet') {
      stdout = rest.join(' ') + '\n';
      await this.emit(p.sessionId, 'output', { commandId, stream: 'stdout', data: stdout }, { publish: false });
    } else if (verb === 'echo') {
      stdout = rest.join(' ') + '\n';
      await this.emit(p.sessionId, 'output', { commandId, stream: 'stdout', data: stdout });
    } else if (verb === 'wait') {
      await new Promise((r) => setTimeout(r, Number(rest[0])));
    } else if (verb === 'spam') {
      const [n, size] = rest.map(Number);
      for (let i = 0; i < n!; i++) await this.emit(p.sessionId, 'output', { commandId, stream: 'stdout', data: String(i % 10).repeat(size!) });
    }
    await this.emit(p.sessionId, 'command.completed', { commandId, command: p.command, exitCode: 0, durationMs: 1, timedOut: false }, { publish: live });
    return { commandId, exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false, truncated: false };
  }
  async session_file_read(p: { sessionId: string; path: string }) {
    this.session(p.sessionId);
    return { type: 'file', path: p.path, content: 'x', encoding: 'utf8', size: 1, binary: false };
  }
  async session_file_write(p: { sessionId: string; path: string }) {
    this.session(p.sessionId);
    return { path: p.path, size: 1 };
  }
  async session_snapshot(p: { sessionId: string }) {
    this.session(p.sessionId);
    return { snapshotId: 'snap1', sessionId: p.sessionId, workspaceId: 'ws1', createdAt: new Date().toISOString(), files: 0, bytes: 0 };
  }
  async session_snapshots(p: { sessionId: string }) {
    this.session(p.sessionId);
    return { snapshots: [] };
  }
  async session_fork(p: { sessionId: string; owner?: string }, user: string) {
    this.session(p.sessionId);
    return this.session_create({ owner: p.owner }, user);
  }
  /** Projects publish their events as the real orchestrator does, so project-ci (or a fake) reacts. */
  private async projectEvent(name: 'project.created' | 'project.updated' | 'project.deleted', p: Record<string, any>) {
    await (this.bus as any).publish(name, { projectId: p.id, name: p.name, index: p.index, settings: p.settings, source: p.source, owner: p.owner, at: new Date().toISOString() });
  }
  private project(ref: string) {
    const p = this.projects.get(ref) ?? [...this.projects.values()].find((x) => x.name === ref);
    if (!p) throw new AppError('NOT_FOUND', `no project ${ref}`);
    return p;
  }
  async project_create(p: { name: string; owner?: string; settings?: unknown }, user: string) {
    const now = new Date().toISOString();
    const used = new Set([...this.projects.values()].map((x) => x.index));
    let index = 0;
    while (used.has(index)) index++;
    const rec = { id: `prj_${++this.n}`, name: p.name, index, source: { kind: 'empty' }, settings: p.settings ?? {}, owner: p.owner ?? user, createdAt: now, updatedAt: now };
    this.projects.set(rec.id, rec);
    await this.projectEvent('project.created', rec);
    return rec;
  }
  async project_get(p: { projectId: string }) {
    return this.project(p.projectId);
  }
  async project_list() {
    return { projects: [...this.projects.values()] };
  }
  async project_update(p: { projectId: string; name?: string }) {
    const rec = this.project(p.projectId);
    if (p.name) rec.name = p.name;
    await this.projectEvent('project.updated', rec);
    return rec;
  }
  async project_delete(p: { projectId: string }) {
    const rec = this.project(p.projectId);
    this.projects.delete(rec.id);
    await this.projectEvent('project.deleted', rec);
    return { deleted: true, project: rec };
  }
  async task_create(p: { owner: string; title: string }) {
    const id = `task_${++this.n}`;
    const now = new Date().toISOString();
    this.tasks.set(id, { id, owner: p.owner, title: p.title, status: 'todo', sessionIds: [], runIds: [], notes: [], version: 1, createdAt: now, updatedAt: now });
    return this.tasks.get(id)!;
  }
  async task_list() {
    return { tasks: [...this.tasks.values()] };
  }
  async task_get(p: { taskId: string }) {
    const t = this.tasks.get(p.taskId);
    if (!t) throw new AppError('NOT_FOUND', `no task ${p.taskId}`);
    return t;
  }
  async task_update(p: { taskId: string; title?: string }) {
    const t = await this.task_get(p);
    if (p.title) t.title = p.title;
    return t;
  }
  async task_delete(p: { taskId: string }) {
    await this.task_get(p);
    this.tasks.delete(p.taskId);
    return { deleted: true };
  }
  async agent_run(p: { sessionId: string; user?: string }, user: string) {
    const runId = `run_${++this.n}`;
    this.runs.set(runId, { runId, sessionId: p.sessionId, user: p.user ?? user });
    return { runId };
  }
  async agent_get(p: { runId: string }) {
    const r = this.runs.get(p.runId);
    if (!r) throw new AppError('NOT_FOUND', `no run ${p.runId}`);
    return {
      runId: r.runId, sessionId: r.sessionId, prompt: 'p', roles: ['coding'], status: 'completed', steps: [], results: [],
      usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, budgetUsd: 1, providers: [], user: r.user, startedAt: new Date().toISOString(),
    };
  }
  async agent_interrupt(p: { runId: string }) {
    await this.agent_get(p);
    return { interrupted: true, status: 'interrupted' };
  }

  async close(): Promise<void> {
    await this.shellBus?.close(1_000);
    await this.bus.close(1_000);
  }
}
