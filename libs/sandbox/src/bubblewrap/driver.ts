import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@codeagent/contracts';
import type { AdoptedSandbox, AdoptOptions, EgressCredential, EgressOptions, Network, OpenOptions, Sandbox, SandboxDriver, SandboxState } from '../types';
import { withSent } from '../shell/channel';
import { planLimits, removeCgroups, type ResolvedLimits } from './cgroups';
import { diagnose } from './diagnose';
import { JAIL_OWN_VARIABLES, jailEnv } from './jail';
import { JailPool, markAssigned, mount, mountsUnder, poolSlot, removeJailFolder, sweepPool } from './pool';
import { Incarnation } from './incarnation';
import { BubblewrapSandbox, type BubblewrapState } from './sandbox';
import { readShellSnapshot, restoreLost } from '../shell/snapshot';
import { CredentialsSchema, EgressSettings, jailResolvConf, NetworkSchema, SandboxEgress } from '../egress/egress';

/** Defaults when OpenOptions.limits leaves a field out. */
export const DEFAULT_LIMITS = { memoryMb: 2048, pids: 512, cpus: 1 } as const;

const OpenOptionsSchema = z.object({
  workspaceDir: z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path'),
  network: NetworkSchema.default('none'),
  credentials: CredentialsSchema,
  limits: z
    .object({
      memoryMb: z.number().int().min(16).max(1 << 20).optional(),
      pids: z.number().int().min(8).max(1 << 22).optional(),
      cpuSeconds: z.number().int().min(1).optional(),
      cpus: z.number().min(0.01).max(1024).optional(),
      diskMb: z.number().int().min(1).optional(),
    })
    .default({}),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are letters, digits and _'), z.string()).default({}),
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
});

/** A lost jail's cgroups and folder (the new jail has its own). */
async function removeJailDir(state: BubblewrapState): Promise<void> {
  removeCgroups(state.plan.dirs);
  await removeJailFolder(state.dir);
}

/** Sandboxes made with Bubblewrap on this host. */
export class BubblewrapDriver implements SandboxDriver {
  readonly name = 'bubblewrap' as const;
  private probe?: Promise<{ ok: boolean; reason?: string }>;

  private readonly egress: EgressSettings;
  private readonly jailsDir?: string;
  private tempDir?: string;

  /**
   * `egress`: the host's egress settings (an admin's address exceptions, the resolver), for every sandbox.
   * `jailsDir`: where jails keep their pipes and state (best in memory: the shell writes its state
   * there after every command); with it they outlive this process and the next one adopts them
   * (adopt()), without it they die with it.
   */
  constructor(options: { egress?: EgressOptions; jailsDir?: string; pool?: { size: number; onError?: (err: Error) => void } } = {}) {
    this.egress = new EgressSettings(options.egress);
    this.jailsDir = options.jailsDir;
    if (options.pool && options.pool.size > 0) {
      const onError = options.pool.onError ?? (() => undefined);
      this.pool = new JailPool(options.pool.size, () => this.startPooled(), onError);
      // The first jails start once the host was found able to make them, and what a killed
      // predecessor left waiting is gone.
      void this.available()
        .then(async (a) => {
          if (!a.ok) return;
          if (this.jailsDir) await sweepPool(this.jailsDir);
          this.pool?.fill();
        })
        .catch(onError);
    }
  }

  private readonly pool?: JailPool;
  /** The empty folder each pooled jail binds at /workspace, by jail. */
  private readonly slots = new WeakMap<BubblewrapSandbox, string>();

  /** Pooled jails ready to be given to a session. */
  get pooled(): number {
    return this.pool?.available ?? 0;
  }

  /** A jail for the pool: default limits, no network, an empty shared mount point at /workspace. */
  private async startPooled(): Promise<BubblewrapSandbox> {
    const id = `pool-${randomBytes(6).toString('hex')}`;
    const dir = this.jailDir(id);
    const slot = poolSlot(dir);
    mkdirSync(slot, { mode: 0o755 });
    try {
      await mount(['--bind', slot, slot]);
      await mount(['--make-shared', slot]);
      const sandbox = await this.start(id, dir, { workspace: slot, network: 'none', credentials: [], limits: { ...DEFAULT_LIMITS }, env: {} });
      this.slots.set(sandbox, slot);
      return sandbox;
    } catch (err) {
      await removeJailFolder(dir);
      throw err;
    }
  }

  /** Ends the jails the pool holds for sessions to come. */
  async close(): Promise<void> {
    await this.pool?.close();
    // The folder of jails, once none is in it (kept ones stay, for the next start to adopt).
    const root = this.jailsDir ?? this.tempDir;
    if (root) rmdirQuiet(root);
  }

  /** A new jail's own folder: under jailsDir, else under a temporary folder of this process. */
  private jailDir(id: string): string {
    // In memory where the host has it: the shell writes its state there after every command.
    const root = this.jailsDir ?? (this.tempDir ??= privateJailsFolder());
    mkdirSync(root, { recursive: true, mode: 0o700 });
    return mkdtempSync(path.join(root, `${id.slice(0, 40)}-`));
  }

  /** Probes once: bwrap installed, and able to make the namespaces open() uses. */
  available(): Promise<{ ok: boolean; reason?: string }> {
    this.probe ??= new Promise((resolve) => {
      execFile('bwrap', ['--unshare-user', '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--ro-bind', '/', '/', '--', '/bin/true'], { timeout: 10_000 }, (err, _out, stderr) => {
        if (!err) return resolve({ ok: true });
        const e = (err as NodeJS.ErrnoException).code === 'ENOENT' ? diagnose('bwrap: not found') : diagnose(String(stderr));
        resolve({ ok: false, reason: e.message });
      });
    });
    return this.probe;
  }

  async open(options: OpenOptions): Promise<Sandbox> {
    const parsed = OpenOptionsSchema.safeParse(options);
    if (!parsed.success) throw AppError.validation(parsed.error, 'sandbox options');
    const o = parsed.data;
    const avail = await this.available();
    if (!avail.ok) throw new AppError('SANDBOX_UNAVAILABLE', avail.reason ?? 'bubblewrap is unavailable');
    let workspace: string;
    try {
      workspace = realpathSync(o.workspaceDir);
      if (!statSync(workspace).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new AppError('VALIDATION_FAILED', `workspaceDir ${o.workspaceDir} is not an existing directory`);
    }
    const limits: ResolvedLimits = { ...DEFAULT_LIMITS, ...o.limits };
    // The pool's shape: no network, no credentials, no rlimits (a running jail cannot take those on).
    const poolable = o.network === 'none' && o.credentials.length === 0 && o.limits.cpuSeconds === undefined && o.limits.diskMb === undefined;
    const pooled = poolable ? this.pool?.take() : undefined;
    if (pooled) {
      try {
        const slot = this.slots.get(pooled)!;
        await pooled.assign(slot, workspace, o.env, limits);
        markAssigned(path.dirname(slot));
        return pooled;
      } catch {
        // A cgroup that would not take the limits, a mount that failed: this session gets a jail of its own.
        await pooled.close();
      }
    }
    const id = o.id ?? `sb-${randomBytes(6).toString('hex')}`;
    return this.start(id, this.jailDir(id), { workspace, network: o.network, credentials: o.credentials, limits, env: o.env });
  }

  private async start(id: string, dir: string, o: { workspace: string; network: Network; credentials: EgressCredential[]; limits: ResolvedLimits; env: Record<string, string> }): Promise<BubblewrapSandbox> {
    const hostname = id.slice(0, 63);
    let sandbox: BubblewrapSandbox | undefined;
    // Parses the allowlist and credentials before anything is started (VALIDATION_FAILED naming the entry).
    const egress = new SandboxEgress(o.network, o.credentials, this.egress.addresses, this.egress.resolve, (d) => sandbox?.emitEgress(d));
    // The cgroup name gets a random suffix: two sandboxes given the same id must not share limits.
    const plan = planLimits(`${id}-${randomBytes(4).toString('hex')}`, o.limits);
    try {
      const spec = { workspace: o.workspace, network: o.network, hostname, env: jailEnv(hostname, { ...o.env, ...egress.env() }), resolvConf: egress.hasEgress ? jailResolvConf() : undefined };
      sandbox = await BubblewrapSandbox.open(id, { dir, dieWithParent: !this.jailsDir }, spec, plan, egress, { network: o.network, credentials: o.credentials, limits: o.limits });
      return sandbox;
    } catch (err) {
      removeCgroups(plan.dirs);
      throw err;
    }
  }

  /**
   * The jail a previous process left (see Sandbox.detach): the same one while it lives; when it is gone
   * (the host restarted, its processes were killed), a new jail on the same workspace with the same
   * limits and network, in which the shell's last working folder and exports are restored.
   */
  async adopt(saved: SandboxState, running: AdoptOptions = {}): Promise<AdoptedSandbox> {
    const state = saved as BubblewrapState;
    if (state.driver !== 'bubblewrap' || state.version !== 1) throw new AppError('VALIDATION_FAILED', `not a bubblewrap jail's state (driver ${String(state.driver)}, version ${String(state.version)})`);
    // A command sent after the state was saved (the process died without detaching) is read on too.
    const channel = withSent(state.channel, running.sent);
    let sandbox: BubblewrapSandbox | undefined;
    const egress = new SandboxEgress(state.network, state.credentials, this.egress.addresses, this.egress.resolve, (d) => sandbox?.emitEgress(d));
    const adopted = await BubblewrapSandbox.adopt({ ...state, channel }, egress, running);
    if (adopted) {
      sandbox = adopted.sandbox;
      return adopted;
    }
    await running.beforeRestore?.();
    return this.restore(state, Boolean(channel.running));
  }

  /** A new jail for a lost one: its workspace, limits, network and environment, then its shell's last state. */
  private async restore(state: BubblewrapState, lostCommand: boolean): Promise<AdoptedSandbox> {
    Incarnation.endLeft(state.jail);
    // The jail's own copy when its folder survived (the jail was killed), else the state's (a reboot emptied a tmpfs).
    const snapshot = readShellSnapshot(state.dir) ?? state.shell;
    const { HOSTNAME: _hostname, ...env } = state.spec.env;
    const sandbox = await this.open({ workspaceDir: state.spec.workspace, network: state.network, credentials: state.credentials, limits: state.limits, env, id: state.id });
    await removeJailDir(state);
    const restored = await restoreLost((c) => sandbox.exec(c), { snapshot, processes: state.processes }, JAIL_OWN_VARIABLES);
    return { sandbox, restored: { ...restored, lostCommand } };
  }
}

const privateFolders = new Set<string>();

/**
 * The folder of jails that die with this process. It goes at its exit, with what those jails left,
 * unless something is still mounted in it (a pooled jail's workspace: never removed through its mount).
 */
function privateJailsFolder(): string {
  const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'codeagent-jails-'));
  if (privateFolders.size === 0) {
    process.once('exit', () => {
      for (const d of privateFolders) if (mountsUnder(d).length === 0) rmSync(d, { recursive: true, force: true });
    });
  }
  privateFolders.add(dir);
  return dir;
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty, or gone */
  }
}
