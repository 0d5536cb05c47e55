import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@codeagent/contracts';
import type { EgressOptions, OpenOptions, Sandbox, SandboxDriver } from '../types';
import { planLimits, removeCgroups } from './cgroups';
import { diagnose } from './diagnose';
import { jailEnv } from './jail';
import { BubblewrapSandbox } from './sandbox';
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

/** Sandboxes made with Bubblewrap on this host. */
export class BubblewrapDriver implements SandboxDriver {
  readonly name = 'bubblewrap' as const;
  private probe?: Promise<{ ok: boolean; reason?: string }>;

  private readonly egress: EgressSettings;

  /** `egress`: the host's egress settings (an admin's address exceptions, the resolver), for every sandbox. */
  constructor(options: { egress?: EgressOptions } = {}) {
    this.egress = new EgressSettings(options.egress);
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
    const id = o.id ?? `sb-${randomBytes(6).toString('hex')}`;
    const hostname = id.slice(0, 63);
    // The cgroup name gets a random suffix: two sandboxes given the same id must not share limits.
    let sandbox: BubblewrapSandbox | undefined;
    // Parses the allowlist and credentials before anything is started (VALIDATION_FAILED naming the entry).
    const egress = new SandboxEgress(o.network, o.credentials, this.egress.addresses, this.egress.resolve, (d) => sandbox?.emitEgress(d));
    const plan = planLimits(`${id}-${randomBytes(4).toString('hex')}`, { ...DEFAULT_LIMITS, ...o.limits });
    try {
      const spec = { workspace, network: o.network, hostname, env: jailEnv(hostname, { ...o.env, ...egress.env() }), resolvConf: egress.hasEgress ? jailResolvConf() : undefined };
      sandbox = await BubblewrapSandbox.open(id, spec, plan, egress);
      return sandbox;
    } catch (err) {
      removeCgroups(plan.dirs);
      throw err;
    }
  }
}
