import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { AppError, Commands, type CommandName } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';

type Handler = (p: any, ctx: any) => Promise<unknown>;

async function serve(url: string, service: 'shell' | 'workspace', instanceId: string, impl: Record<string, Handler>): Promise<Bus> {
  const bus = await Bus.connect({ url, service, instanceId, logger: testLogger(service) });
  const table: Record<string, Handler> = {};
  for (const name of Object.keys(Commands) as CommandName[]) {
    if (Commands[name].service !== service) continue;
    table[name] = impl[name] ?? (async () => { throw new AppError('INTERNAL', `${name} is not part of this test`); });
  }
  await bus.handleCommands(service, table as never);
  return bus;
}

/**
 * A small workspace service for the orchestrator's tests: real messages on the test's vhost, real
 * folders; it records what it was asked so tests can check that setup failures are undone.
 */
export class TestWorkspace {
  readonly live = new Map<string, string>();
  readonly removed: string[] = [];
  /** Snapshots taken, by id: the workspace they belong to. */
  readonly snapshots = new Map<string, string>();
  /** What each fork was asked to start from. */
  readonly forks: Array<{ workspaceId?: string; snapshotId?: string }> = [];
  private n = 0;
  private constructor(private readonly bus: Bus, private readonly root: string) {}

  static async start(url: string): Promise<TestWorkspace> {
    const root = mkdtempSync(path.join(tmpdir(), 'orch-ws-'));
    let self!: TestWorkspace;
    const prepare = async (p: { owner?: string }) => {
      const workspaceId = `ws_${++self.n}`;
      const dir = mkdtempSync(path.join(root, `${workspaceId}-`));
      self.live.set(workspaceId, dir);
      return { workspaceId, path: dir, source: { kind: 'empty' }, quotaMb: 100, usedBytes: 0, createdAt: new Date().toISOString(), ...(p.owner ? {} : {}) };
    };
    const bus = await serve(url, 'workspace', `ws-${process.pid}`, {
      'workspace.prepare': prepare,
      'workspace.fork': async (p: { workspaceId?: string; snapshotId?: string; owner?: string }) => {
        self.forks.push({ ...(p.workspaceId ? { workspaceId: p.workspaceId } : {}), ...(p.snapshotId ? { snapshotId: p.snapshotId } : {}) });
        return prepare(p);
      },
      'workspace.snapshot': async (p: { workspaceId: string; label?: string }) => {
        const snapshotId = `snap_${self.snapshots.size + 1}`;
        self.snapshots.set(snapshotId, p.workspaceId);
        return { snapshotId, workspaceId: p.workspaceId, ...(p.label ? { label: p.label } : {}), createdAt: new Date().toISOString(), files: 0, bytes: 0, checksum: 'x' };
      },
      'workspace.snapshots': async (p: { workspaceId: string }) => ({
        snapshots: [...self.snapshots].filter(([, w]) => w === p.workspaceId).map(([snapshotId]) => ({ snapshotId, workspaceId: p.workspaceId, createdAt: new Date().toISOString(), files: 0, bytes: 0, checksum: 'x' })),
      }),
      'workspace.remove': async (p: { workspaceId: string }) => {
        const dir = self.live.get(p.workspaceId);
        self.live.delete(p.workspaceId);
        self.removed.push(p.workspaceId);
        if (dir) rmSync(dir, { recursive: true, force: true });
        return { removed: Boolean(dir) };
      },
      'workspace.get': async (p: { workspaceId: string }) => {
        const dir = self.live.get(p.workspaceId);
        if (!dir) throw new AppError('NOT_FOUND', `no workspace ${p.workspaceId}`);
        return { workspaceId: p.workspaceId, path: dir, source: { kind: 'empty' }, quotaMb: 100, usedBytes: 0, createdAt: new Date().toISOString() };
      },
    });
    self = new TestWorkspace(bus, root);
    return self;
  }

  async stop(): Promise<void> {
    await this.bus.close(500);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * A small shell service: jails are entries in a map, each the sequencer of its session's log as the
 * real one is (from shell.open's firstSeq; shell.session.append takes the next seq; shell.close
 * answers the last); exec "runs" `echo`-like commands by logging the requested chunks as output
 * around command.started/completed, with the busy/idle status the real jail's stream logs (unless
 * an appended status says the session is closing or failed) and the shell.command.completed fact.
 */
export class TestShell {
  readonly jails = new Map<string, { workspaceDir: string }>();
  readonly closed: string[] = [];
  /** Every shell.open payload, as received (network, credentials...). */
  readonly opens: Array<Record<string, any>> = [];
  failOpen?: string;
  /** The last seq each open jail gave. */
  private readonly lastSeq = new Map<string, number>();
  /** The state each session's log last said (the real shell's Session.logged). */
  private readonly logged = new Map<string, string>();
  /** Sessions whose next shell.close waits (once it is recorded in `closed`) until the test lets it go on. */
  private readonly heldCloses = new Map<string, Promise<void>>();
  private constructor(readonly bus: Bus, readonly instanceId: string) {}

  static async start(url: string, instanceId = `shell-${process.pid}-${Date.now()}`): Promise<TestShell> {
    let self!: TestShell;
    const bus = await serve(url, 'shell', instanceId, {
      'shell.open': async (p: { sessionId: string; workspaceDir: string; network: 'none' | 'open' | { allow: string[] }; credentials?: Array<{ name: string }>; firstSeq?: number }) => {
        self.opens.push(p);
        if (self.failOpen) throw new AppError('SANDBOX_UNAVAILABLE', self.failOpen);
        self.jails.set(p.sessionId, { workspaceDir: p.workspaceDir });
        self.logged.delete(p.sessionId);
        self.lastSeq.set(p.sessionId, (p.firstSeq ?? 1) - 1);
        // What a driver reads back from the jail's namespace, derived from what was asked.
        const mode = typeof p.network === 'object' ? 'allow' : p.network;
        const networkInForce = {
          mode,
          interfaces: ['lo'],
          routes: 0,
          ...(mode !== 'none' ? { proxy: 'http://127.0.0.1:3128', dns: '127.0.0.1' } : {}),
          ...(typeof p.network === 'object' ? { allow: p.network.allow } : {}),
          ...(p.credentials?.length ? { credentials: p.credentials.map((c) => c.name) } : {}),
        };
        return { sessionId: p.sessionId, instanceId, driver: 'bubblewrap', limitsInForce: { memory: 'test' }, networkInForce };
      },
      'shell.exec': async (p: { sessionId: string; command: string; commandId: string; user?: string }) => self.exec(p),
      'shell.interrupt': async () => ({ interrupted: true }),
      'shell.close': async (p: { sessionId: string }) => {
        self.closed.push(p.sessionId);
        const held = self.heldCloses.get(p.sessionId);
        self.heldCloses.delete(p.sessionId);
        await held;
        const lastSeq = self.lastSeq.get(p.sessionId);
        self.lastSeq.delete(p.sessionId);
        return { closed: self.jails.delete(p.sessionId), ...(lastSeq !== undefined ? { lastSeq } : {}) };
      },
      'shell.session.append': async (p: { sessionId: string; kind: any; data: any }) => {
        if (!self.jails.has(p.sessionId)) throw new AppError('NOT_FOUND', `no jail for ${p.sessionId}`);
        if (p.kind === 'status') self.logged.set(p.sessionId, p.data.to);
        return { seq: await self.log(p.sessionId, p.kind, p.data) };
      },
      'shell.list': async () => ({ instanceId, sessions: [...self.jails.keys()].map((sessionId) => ({ sessionId, busy: false, openedAt: new Date().toISOString() })) }),
    });
    self = new TestShell(bus, instanceId);
    return self;
  }

  /** The session's next shell.close waits until the returned function is called; later ones do not. */
  holdClose(sessionId: string): () => void {
    let release = () => {};
    this.heldCloses.set(sessionId, new Promise<void>((r) => (release = r)));
    return release;
  }

  /** `chunks N` prints N numbered lines, one output event each; anything else echoes itself. */
  private async exec(p: { sessionId: string; command: string; commandId: string; user?: string }) {
    if (!this.jails.has(p.sessionId)) throw new AppError('NOT_FOUND', `no jail for ${p.sessionId}`);
    const started = Date.now();
    const m = /^chunks (\d+)$/.exec(p.command);
    const lines = m ? Array.from({ length: Number(m[1]) }, (_, i) => `line ${i + 1}\n`) : [`${p.command}\n`];
    const cmd = { commandId: p.commandId, command: p.command, ...(p.user ? { user: p.user } : {}) };
    await this.log(p.sessionId, 'command.started', cmd);
    await this.status(p.sessionId, 'busy');
    for (const data of lines) await this.log(p.sessionId, 'output', { commandId: p.commandId, stream: 'stdout', data });
    const durationMs = Date.now() - started;
    const end = { exitCode: 0, durationMs, timedOut: false };
    const completedSeq = await this.log(p.sessionId, 'command.completed', { ...cmd, ...end });
    await this.bus.publish('shell.command.completed', { sessionId: p.sessionId, ...cmd, ...end, seq: completedSeq });
    await this.status(p.sessionId, 'idle');
    return { commandId: p.commandId, exitCode: 0, stdout: lines.join(''), stderr: '', durationMs, timedOut: false, truncated: false };
  }

  private async status(sessionId: string, to: 'busy' | 'idle'): Promise<void> {
    const from = this.logged.get(sessionId) ?? 'ready';
    if (to === 'busy' ? from !== 'ready' && from !== 'idle' : from !== 'busy') return;
    this.logged.set(sessionId, to);
    await this.log(sessionId, 'status', { from, to });
  }

  /** Publishes the next event of the session's log, as the jail's stream does. */
  async log(sessionId: string, kind: any, data: any): Promise<number> {
    const seq = (this.lastSeq.get(sessionId) ?? 0) + 1;
    this.lastSeq.set(sessionId, seq);
    await this.bus.publish('session.event', { sessionId, seq, kind, data, at: new Date().toISOString() });
    return seq;
  }

  async stop(): Promise<void> {
    await this.bus.close(500);
  }
}
