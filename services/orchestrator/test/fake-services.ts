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
 * A small shell service: jails are entries in a map; exec "runs" `echo`-like commands by streaming
 * the requested chunks as shell.output events (numbered per session, like the real one) around the
 * shell.command.* audit events.
 */
export class TestShell {
  readonly jails = new Map<string, { workspaceDir: string }>();
  readonly closed: string[] = [];
  /** Every shell.open payload, as received (network, credentials...). */
  readonly opens: Array<Record<string, any>> = [];
  failOpen?: string;
  private readonly outSeq = new Map<string, number>();
  private constructor(readonly bus: Bus, readonly instanceId: string) {}

  static async start(url: string, instanceId = `shell-${process.pid}-${Date.now()}`): Promise<TestShell> {
    let self!: TestShell;
    const bus = await serve(url, 'shell', instanceId, {
      'shell.open': async (p: { sessionId: string; workspaceDir: string; network: 'none' | 'open' | { allow: string[] }; credentials?: Array<{ name: string }> }) => {
        self.opens.push(p);
        if (self.failOpen) throw new AppError('SANDBOX_UNAVAILABLE', self.failOpen);
        self.jails.set(p.sessionId, { workspaceDir: p.workspaceDir });
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
        return { closed: self.jails.delete(p.sessionId) };
      },
      'shell.list': async () => ({ instanceId, sessions: [...self.jails.keys()].map((sessionId) => ({ sessionId, busy: false, openedAt: new Date().toISOString() })) }),
    });
    self = new TestShell(bus, instanceId);
    return self;
  }

  /** `chunks N` prints N numbered lines, one output event each; anything else echoes itself. */
  private async exec(p: { sessionId: string; command: string; commandId: string; user?: string }) {
    if (!this.jails.has(p.sessionId)) throw new AppError('NOT_FOUND', `no jail for ${p.sessionId}`);
    const started = Date.now();
    const m = /^chunks (\d+)$/.exec(p.command);
    const lines = m ? Array.from({ length: Number(m[1]) }, (_, i) => `line ${i + 1}\n`) : [`${p.command}\n`];
    const seq = () => {
      const s = this.outSeq.get(p.sessionId) ?? 0;
      this.outSeq.set(p.sessionId, s + 1);
      return s;
    };
    await this.bus.publish('shell.command.started', { sessionId: p.sessionId, commandId: p.commandId, command: p.command, seq: this.outSeq.get(p.sessionId) ?? 0 });
    for (const data of lines) await this.bus.publish('shell.output', { sessionId: p.sessionId, commandId: p.commandId, seq: seq(), stream: 'stdout', data, encoding: 'utf8' });
    const durationMs = Date.now() - started;
    await this.bus.publish('shell.command.completed', { sessionId: p.sessionId, commandId: p.commandId, command: p.command, exitCode: 0, durationMs, timedOut: false, seq: this.outSeq.get(p.sessionId) ?? 0 });
    return { commandId: p.commandId, exitCode: 0, stdout: lines.join(''), stderr: '', durationMs, timedOut: false, truncated: false };
  }

  async stop(): Promise<void> {
    await this.bus.close(500);
  }
}
