import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmdirSync, rmSync, statSync } from 'node:fs';
import os, { hostname } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { z } from 'zod';
import { AppError } from '@codeagent/contracts';
import { DEFAULT_LIMITS } from '../bubblewrap/driver';
import { DockerfileBuilder } from './build';
import { CredentialsSchema, EgressSettings, jailResolvConf, NetworkSchema, SandboxEgress } from '../egress/egress';
import { withSent } from '../shell/channel';
import { readShellSnapshot, restoreLost } from '../shell/snapshot';
import type { AdoptedSandbox, AdoptOptions, EgressOptions, OpenOptions, Sandbox, SandboxDriver, SandboxState } from '../types';
import { DockerSandbox, KEEPER, type DockerOpened, type DockerState } from './sandbox';
import { CONTAINER_OWN_VARIABLES, CONTAINER_SHELL_DIR } from './shell';


/** OpenOptions plus what only this driver uses. */
export interface DockerOpenOptions extends OpenOptions {
  /** Image to run; the driver's default when absent. It must be on the engine or pullable. */
  image?: string;
  /** A Dockerfile in the workspace (relative path) to build the image from, when `image` is absent. */
  dockerfile?: string;
  /** The image's user the shell runs as (a devcontainer's `remoteUser`); default: the workspace's owner. */
  user?: string;
}

export interface DockerDriverOptions {
  /** `unix:///path` or `tcp://host:port`; DOCKER_HOST's rules (docker-modem's default) when absent. */
  dockerHost?: string;
  defaultImage?: string;
  /** Pull an image missing on the engine (default true). */
  pull?: boolean;
  /** Engine calls that hang longer than this count as "no engine" in available(). */
  pingTimeoutMs?: number;
  /** Network of a Dockerfile's RUN steps; the engine's default when absent. */
  buildNetwork?: string;
  /** The host's egress settings (see BubblewrapDriver). */
  egress?: EgressOptions;
  /** Built project images kept beyond those in use, in MiB; the least recently used go first (default 10 GiB). */
  imageCacheMb?: number;
  /**
   * Where each container's folder (its shell's pipes and saved state) is made on the host. Given, the
   * containers outlive this process for a successor to adopt (DockerDriver.adopt); absent, a private
   * temporary folder each. The engine must be on this host (it binds the folder, as the workspace).
   */
  containersDir?: string;
}

/** Labels that let a restarted shell find the containers a dead one left (see removeLeftovers). */
const HOST_LABEL = 'codeagent.host';
const PID_LABEL = 'codeagent.pid';

const OpenOptionsSchema = z.object({
  workspaceDir: z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path'),
  network: NetworkSchema.default('none'),
  credentials: CredentialsSchema,
  limits: z
    .object({
      memoryMb: z.number().int().min(16).max(1 << 20).optional(),
      pids: z.number().int().min(8).max(1 << 22).optional(),
      cpuSeconds: z.number().int().min(1).optional(),
      diskMb: z.number().int().min(1).optional(),
      cpus: z.number().positive().max(1024).optional(),
    })
    .default({}),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are letters, digits and _'), z.string()).default({}),
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  image: z.string().min(1).optional(),
  dockerfile: z.string().min(1).optional(),
  user: z.string().regex(/^[A-Za-z0-9_.-]{1,64}(:[A-Za-z0-9_.-]{1,64})?$/, 'a user name or uid, optionally :group').optional(),
});

/** Sandboxes as Docker containers (dockerode), for projects that bring a Dockerfile. */
export class DockerDriver implements SandboxDriver {
  readonly name = 'docker' as const;
  readonly docker: Docker;
  private readonly defaultImage: string;
  private readonly builder: DockerfileBuilder;
  private probe?: { at: number; result: Promise<{ ok: boolean; reason?: string }> };

  private readonly egress: EgressSettings;

  constructor(private readonly opts: DockerDriverOptions = {}) {
    this.egress = new EgressSettings(opts.egress);
    this.docker = new Docker(engineOptions(opts.dockerHost));
    this.defaultImage = opts.defaultImage ?? 'debian:bookworm-slim';
    this.builder = new DockerfileBuilder(this.docker, opts.buildNetwork, (opts.imageCacheMb ?? 10 * 1024) * 1024 * 1024);
  }

  /** Whether an engine answers; remembered for 5 s so health checks do not hammer it. */
  available(): Promise<{ ok: boolean; reason?: string }> {
    if (this.probe && Date.now() - this.probe.at < 5000) return this.probe.result;
    const timeoutMs = this.opts.pingTimeoutMs ?? 3000;
    const where = this.opts.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    const result = Promise.race([
      this.docker.ping().then(() => ({ ok: true })),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]).catch((err: Error) => ({ ok: false, reason: `no Docker engine answers at ${where} (${err.message}); start dockerd or set DOCKER_HOST` }));
    this.probe = { at: Date.now(), result };
    return result;
  }

  async open(options: DockerOpenOptions): Promise<Sandbox> {
    const parsed = OpenOptionsSchema.safeParse(options);
    if (!parsed.success) throw AppError.validation(parsed.error, 'sandbox options');
    const o = parsed.data;
    const avail = await this.available();
    if (!avail.ok) throw new AppError('SANDBOX_UNAVAILABLE', avail.reason ?? 'Docker is unavailable');
    let workspace: string;
    let owner: { uid: number; gid: number };
    try {
      workspace = realpathSync(o.workspaceDir);
      const st = statSync(workspace);
      if (!st.isDirectory()) throw new Error('not a directory');
      owner = { uid: st.uid, gid: st.gid };
    } catch {
      throw new AppError('VALIDATION_FAILED', `workspaceDir ${o.workspaceDir} is not an existing directory`);
    }
    let image = o.image ?? this.defaultImage;
    if (o.image) await this.ensureImage(o.image);
    else if (o.dockerfile) image = await this.builder.imageFor(workspace, o.dockerfile);
    else await this.ensureImage(image);
    const id = o.id ?? `sb-${randomBytes(6).toString('hex')}`;
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    const mib = 1024 * 1024;
    const ulimits: Docker.HostConfig['Ulimits'] = [];
    const inForce: Record<string, string> = {
      memory: `docker cgroup ${limits.memoryMb} MiB (no swap)`,
      pids: `docker cgroup ${limits.pids}`,
    };
    if (limits.cpuSeconds !== undefined) {
      ulimits.push({ Name: 'cpu', Soft: limits.cpuSeconds, Hard: limits.cpuSeconds });
      inForce.cpu = `rlimit ${limits.cpuSeconds} s per process`;
    }
    if (limits.cpus !== undefined) inForce.cpus = `docker cgroup ${limits.cpus} CPUs`;
    if (limits.diskMb !== undefined) {
      ulimits.push({ Name: 'fsize', Soft: limits.diskMb * mib, Hard: limits.diskMb * mib });
      inForce.disk = `rlimit fsize ${limits.diskMb} MiB per file`;
    }
    // Files made in the workspace belong to its owner on the host, as with bubblewrap.
    // A devcontainer's remoteUser is the image's own user (its home and tools are set up for it).
    const user = o.user ?? (owner.uid === 0 ? undefined : `${owner.uid}:${owner.gid}`);
    let sandbox: DockerSandbox | undefined;
    const egress = new SandboxEgress(o.network, o.credentials, this.egress.addresses, this.egress.resolve, (d) => sandbox?.emitEgress(d));
    if (egress.hasEgress && this.opts.dockerHost && !this.opts.dockerHost.startsWith('unix://')) {
      throw new AppError('SANDBOX_UNAVAILABLE', `network ${JSON.stringify(o.network)} needs the egress proxy on the engine's host; the engine at ${this.opts.dockerHost} is remote`);
    }
    const vars = { ...o.env, ...egress.env() };
    const env = [...Object.entries(vars).map(([k, v]) => `${k}=${v}`), `CODEAGENT_SANDBOX=${id}`, ...(user && !o.user ? ['HOME=/tmp'] : [])];
    const name = `codeagent-${id}-${randomBytes(3).toString('hex')}`;
    const dir = this.containerDir(name);
    const opened: DockerOpened = { workspaceDir: workspace, image, network: o.network, credentials: o.credentials, limits: o.limits, env: o.env, ...(o.user ? { user: o.user } : {}) };
    const container = await this.docker
      .createContainer({
        name,
        Image: image,
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: [KEEPER],
        WorkingDir: '/workspace',
        Hostname: id.slice(0, 63),
        Env: env,
        Labels: { 'codeagent.sandbox': id, [HOST_LABEL]: hostname(), [PID_LABEL]: String(process.pid) },
        HostConfig: {
          Init: true,
          // Never a bridge (it reaches the host): every mode has only loopback, and the egress proxy.
          NetworkMode: 'none',
          Binds: [`${workspace}:/workspace:rw`, `${dir}:${CONTAINER_SHELL_DIR}:rw`, ...(egress.hasEgress ? [`${jailResolvConf()}:/etc/resolv.conf:ro`] : [])],
          Tmpfs: { '/tmp': 'rw,nosuid,nodev,mode=1777' },
          Memory: limits.memoryMb * mib,
          MemorySwap: limits.memoryMb * mib,
          PidsLimit: limits.pids,
          ...(limits.cpus !== undefined ? { NanoCpus: Math.round(limits.cpus * 1e9) } : {}),
          Ulimits: ulimits,
          SecurityOpt: ['no-new-privileges'],
          CapDrop: ['NET_RAW', 'MKNOD', 'AUDIT_WRITE', 'SYS_CHROOT', 'SETFCAP'],
        },
      })
      .catch((err: Error) => {
        rmSync(dir, { recursive: true, force: true });
        throw new AppError('SANDBOX_UNAVAILABLE', `Docker could not create the container: ${err.message}`, { cause: err });
      });
    sandbox = await DockerSandbox.open(id, container, { dir, keep: Boolean(this.opts.containersDir) }, { env, user, name }, inForce, egress, opened);
    return sandbox;
  }

  /**
   * The container a previous process left (see Sandbox.detach): the same one while it and its shell
   * live; when it is gone (the engine or the host restarted), a new container from the same image on
   * the same workspace, limits and network, in which the shell's last working folder and exports are
   * restored.
   */
  async adopt(saved: SandboxState, running: AdoptOptions = {}): Promise<AdoptedSandbox> {
    const state = saved as DockerState;
    if (state.driver !== 'docker' || state.version !== 1) throw new AppError('VALIDATION_FAILED', `not a docker container's state (driver ${String(state.driver)}, version ${String(state.version)})`);
    const avail = await this.available();
    if (!avail.ok) throw new AppError('SANDBOX_UNAVAILABLE', avail.reason ?? 'Docker is unavailable');
    // A command sent after the state was saved (the process died without detaching) is read on too.
    const channel = withSent(state.channel, running.sent);
    let sandbox: DockerSandbox | undefined;
    const egress = new SandboxEgress(state.opened.network, state.opened.credentials, this.egress.addresses, this.egress.resolve, (d) => sandbox?.emitEgress(d));
    const container = this.docker.getContainer(state.spec.name);
    const adopted = await DockerSandbox.adopt({ ...state, channel }, container, this.docker.getExec(state.shell.execId), egress, running);
    if (adopted) {
      sandbox = adopted.sandbox;
      return adopted;
    }
    await running.beforeRestore?.();
    return this.restore(state, container, Boolean(channel.running));
  }

  /** A new container for a lost one (or one whose shell died unwatched): its image, workspace, limits, network and env, then its shell's last state. */
  private async restore(state: DockerState, lost: Docker.Container, lostCommand: boolean): Promise<AdoptedSandbox> {
    const snapshot = readShellSnapshot(state.dir) ?? state.snapshot;
    await lost.remove({ force: true, v: true }).catch(() => undefined);
    rmSync(state.dir, { recursive: true, force: true });
    const o = state.opened;
    const sandbox = await this.open({ workspaceDir: o.workspaceDir, image: o.image, network: o.network, credentials: o.credentials, limits: o.limits, env: o.env, id: state.id, ...(o.user ? { user: o.user } : {}) });
    const restored = await restoreLost((c) => sandbox.exec(c), { snapshot, processes: state.processes }, CONTAINER_OWN_VARIABLES);
    return { sandbox, restored: { ...restored, lostCommand } };
  }

  /** A container's own folder on the host, bound at CONTAINER_SHELL_DIR (see containersDir). */
  private containerDir(name: string): string {
    let dir: string;
    if (this.opts.containersDir) {
      mkdirSync(this.opts.containersDir, { recursive: true, mode: 0o700 });
      dir = path.join(this.opts.containersDir, name);
      mkdirSync(dir, { mode: 0o755 });
    } else {
      dir = mkdtempSync(path.join(os.tmpdir(), 'codeagent-container-'));
    }
    // The shell may run as the image's user, whom the host does not know: it writes its state here.
    // (chmod: mkdir's mode passes through the umask.)
    mkdirSync(path.join(dir, 'shell'));
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'shell'), 0o777);
    return dir;
  }

  /**
   * Removes the containers a shell process on this host left when it died without closing them (a
   * crash, SIGKILL): those labelled with this host whose process is gone, except those `kept` for
   * adoption. Containers of live shells on the same engine are left alone. Returns the names removed.
   */
  async removeLeftovers(kept: SandboxState[] = []): Promise<string[]> {
    const spared = new Set(kept.filter((k): k is DockerState => k.driver === 'docker').map((k) => k.spec.name));
    const list = await this.docker.listContainers({ all: true, filters: { label: ['codeagent.sandbox', `${HOST_LABEL}=${hostname()}`] } });
    const dead = list.filter((c) => !processAlive(Number(c.Labels[PID_LABEL])) && !c.Names.some((n) => spared.has(n.replace(/^\//, ''))));
    const removed: string[] = [];
    for (const c of dead) {
      const gone = await this.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .then(() => true, (err: { statusCode?: number }) => err.statusCode === 404);
      if (gone) removed.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
    }
    return removed;
  }

  /** Removes the folder of containers once none is in it (kept ones stay, for the next start to adopt). */
  async close(): Promise<void> {
    if (!this.opts.containersDir) return;
    try {
      rmdirSync(this.opts.containersDir);
    } catch {
      /* not empty, or never made */
    }
  }

  /** Makes sure the image is on the engine, pulling it when allowed. */
  private async ensureImage(image: string): Promise<void> {
    const present = await this.docker
      .getImage(image)
      .inspect()
      .then(() => true)
      .catch(() => false);
    if (present) return;
    if (this.opts.pull === false) throw new AppError('SANDBOX_UNAVAILABLE', `image ${image} is not on the Docker engine; build or pull it first`);
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new AppError('SANDBOX_UNAVAILABLE', `image ${image} is not on the Docker engine and could not be pulled: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Whether a process of this host still runs (a pid label from before a reboot may be reused: then the container is kept until that process ends). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function engineOptions(host: string | undefined): Docker.DockerOptions | undefined {
  if (!host) return undefined;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
}
