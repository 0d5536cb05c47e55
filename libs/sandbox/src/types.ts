/**
 * The public contract of @codeagent/sandbox. Two drivers implement it (bubblewrap, docker); the shell
 * service depends only on these types. Keep it stable: add optional fields, never change existing ones.
 */

/**
 * How a sandbox reaches the network. Every mode has a network namespace of its own whose only
 * interface is its own loopback; `allow` and `open` reach out only through the platform's egress proxy
 * (HTTP proxy at 127.0.0.1:3128 and a DNS server at 127.0.0.1:53 inside the jail, both served from
 * outside it). The host, its loopback, link-local and private addresses are never reachable, unless
 * the driver's `egress.allowAddresses` (an admin's policy) names them.
 * - `none`: no egress at all.
 * - `{ allow }`: only these hosts: exact names, `*.` wildcards (subdomains, not the name itself), an
 *   optional `:port` (any port when absent), e.g. `pypi.org`, `*.npmjs.org`, `github.com:443`.
 * - `open`: any public host.
 */
export type Network = 'none' | 'open' | { allow: string[] };

/**
 * A provider key that the egress proxy adds on the way out, so that the key never enters the jail.
 * Code in the jail calls `http://<name>.credentials.internal/...` (through the proxy, plain HTTP inside
 * the jail); the proxy forwards it to `upstream` with `headers` added.
 */
export interface EgressCredential {
  /** [a-z0-9-]{1,63}, e.g. `anthropic`. */
  name: string;
  /** The provider's API base URL, e.g. `https://api.anthropic.com` (a path prefix is kept). */
  upstream: string;
  /** Added to every request (replacing what the jail sent under those names), e.g. `{ 'x-api-key': key }`. */
  headers: Record<string, string>;
  /** Variables set in the jail to the in-jail base URL, e.g. `['ANTHROPIC_BASE_URL']`. */
  baseUrlEnv?: string[];
  /** Variables set in the jail to a placeholder (tools that refuse to start without a key), e.g. `['ANTHROPIC_API_KEY']`. */
  placeholderKeyEnv?: string[];
}

/** What a jail can really reach, read back from its network namespace after it started. */
export interface NetworkInForce {
  mode: 'none' | 'allow' | 'open';
  /** Interfaces of the jail's own namespace (read from it), e.g. `['lo']`. */
  interfaces: string[];
  /** Routes other than loopback in the jail's namespace (0: nothing leaves it directly). */
  routes: number;
  /** The egress proxy as the jail sees it (`allow`/`open`), e.g. `http://127.0.0.1:3128`. */
  proxy?: string;
  /** The jail's DNS server (`allow`/`open`): answers only names the policy allows. */
  dns?: string;
  /** The allowlist in force (`allow`). */
  allow?: string[];
  /** Providers whose keys the proxy adds. */
  credentials?: string[];
  /** Address ranges an admin's policy opened despite being private/loopback/link-local. */
  allowAddresses?: string[];
}

/** One connection the egress proxy allowed or refused (also a DNS question it refused). */
export interface EgressDecision {
  allowed: boolean;
  /** The name (or address) asked for, as the jail gave it. */
  host: string;
  port: number;
  /** `connect` (CONNECT tunnel), `http` (plain proxied request), `dns`, `credential`. */
  via: 'connect' | 'http' | 'dns' | 'credential';
  /** Why it was refused, for a person, e.g. `not in the allowlist`, `resolves to a loopback address`. */
  reason?: string;
}

/** Egress settings of a driver (the host's, an admin's): they apply to every sandbox it opens. */
export interface EgressOptions {
  /** CIDRs that are reachable although private, loopback or link-local, e.g. an internal mirror. */
  allowAddresses?: string[];
  /** How the proxy resolves names (default: the host's resolver). Tests point names at their test hosts. */
  resolve?: (host: string) => Promise<string[]>;
}

/** Resource caps for one sandbox. Absent fields take the driver's defaults (see README). */
export interface Limits {
  /** Memory + swap of every process of the sandbox together, in MiB. */
  memoryMb?: number;
  /** Processes and threads alive at once in the sandbox. */
  pids?: number;
  /** CPU time per process, in seconds (rlimit). */
  cpuSeconds?: number;
  /** CPU bandwidth of the whole sandbox, in cores (e.g. 0.5, 1, 2), through the cgroup cpu controller where available. */
  cpus?: number;
  /** Largest file a process may write, in MiB (rlimit fsize); workspace quotas are the workspace service's. */
  diskMb?: number;
}

export interface OpenOptions {
  /** Host folder mounted read-write at /workspace. Must exist and be absolute. */
  workspaceDir: string;
  /** Default `none`. */
  network?: Network;
  /** Provider keys the egress proxy adds (needs `allow` or `open`; each credential's upstream host is allowed by it). */
  credentials?: EgressCredential[];
  limits?: Limits;
  /** Extra environment of the shell; the host's environment is never passed through. */
  env?: Record<string, string>;
  /** A name for logs, cgroups and the hostname; random when absent. [A-Za-z0-9_.-]{1,64}. */
  id?: string;
}

/** One piece of streamed output. `seq` starts at 0 and increases by one per chunk of one exec. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  seq: number;
}

export interface ExecOptions {
  /** Overall limit; on expiry the command's process group gets SIGINT, then SIGKILL after a grace. */
  timeoutMs?: number;
  /** Same, when the command has printed nothing for this long. */
  silenceTimeoutMs?: number;
  /** Receives every byte of output, in order. A returned promise is awaited before more is read (backpressure). */
  onOutput?: (c: OutputChunk) => void | Promise<void>;
  /** Cap of stdout and of stderr each in the result (streaming is not capped). Default 1 MiB. */
  maxResultBytes?: number;
  /**
   * Called as the command is sent, with what a successor process needs to go on reading it should
   * this one die before it ends (SandboxDriver.adopt's `running`). JSON. Drivers that cannot be adopted never call it.
   */
  onSent?: (resume: unknown) => void;
}

/** What a new shell got back of one that was lost, and what was lost with it. */
export interface Restored {
  /** The working folder restored in the new shell, as the old one last saved it. */
  cwd?: string;
  /** How many exported variables were restored. */
  exports: number;
  /** Command lines of the processes the old shell left beside it, lost with it. */
  lostProcesses: string[];
}

/** How SandboxDriver.adopt takes over a sandbox. */
export interface AdoptOptions extends Pick<ExecOptions, 'onOutput' | 'maxResultBytes'> {
  /** What onSent last gave (a command sent after the state was taken); a resumed command's output goes to onOutput. */
  sent?: unknown;
  /**
   * Awaited before a sandbox that is gone is started again on its workspace: after a reboot the
   * workspace is a mount point again only once its owner has mounted it, and a sandbox started before
   * that would hold the bare folder beneath. A rejection fails the adoption.
   */
  beforeRestore?: () => Promise<void>;
}

/** A command that ran, whatever its exit status: a non-zero exit is a result, not an exception. */
export interface ExecResult {
  /** The command's exit status; 128+N when killed by signal N; -1 when the shell died under it. */
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Whether stdout or stderr was cut at maxResultBytes. */
  truncated: boolean;
}

export interface PtyOptions {
  cols?: number;
  rows?: number;
  argv?: string[];
  kept?: boolean;
}

/** A terminal's output listener: a promise it answers holds the terminal's output until it settles. */
export type PtyDataListener = (data: Buffer) => void | Promise<void>;

/** An interactive terminal inside the same jail (same mounts, pids, network and limits). */
export interface Pty {
  readonly pid: number;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /**
   * The bytes the terminal printed, as it printed them. A listener that answers a promise holds the
   * terminal's output until it settles, where the driver can (backpressure: its programs block on a
   * full pipe). Returns a function that removes the listener.
   */
  onData(cb: PtyDataListener): () => void;
  onExit(cb: (code: number) => void): void;
  close(): Promise<void>;
}

export interface CrashInfo {
  reason: string;
  /** Whether a fresh shell was started: in the dead one's last saved folder, with its exports (its functions are lost). */
  restarted: boolean;
  /** Restored.cwd and .exports of the new shell, when the dead one had saved them. */
  restoredCwd?: string;
  restoredExports?: number;
  /** Restored.lostProcesses, when there were any. */
  lostProcesses?: string[];
}

/**
 * A sandbox as one process leaves it for the next (Sandbox.detach, Sandbox.state, SandboxDriver.adopt).
 * JSON; SECRET: it may hold egress credentials, so store it encrypted.
 */
export interface SandboxState {
  driver: 'bubblewrap' | 'docker';
}

/** A sandbox taken over from a process that is gone. */
export interface AdoptedSandbox {
  sandbox: Sandbox;
  /** The command that was running when its process let go, read on from where it was left. */
  resumed?: Promise<ExecResult>;
  /**
   * Set when the sandbox itself was gone (its host restarted, its processes were killed) and a new one
   * was started from the state: what was carried over and what was lost.
   */
  restored?: Restored & {
    /** Whether a command was running (it is lost with its sandbox). */
    lostCommand: boolean;
  };
  /** The terminal opened with `kept`, read on from where its process let go (absent when it ended, or with a lost sandbox). */
  terminal?: Pty;
}

export interface Sandbox {
  readonly id: string;
  readonly driver: 'bubblewrap' | 'docker';
  /** Which limits are enforced and how, e.g. { memory: 'cgroup v1 512 MiB', pids: 'cgroup v1 256', cpu: 'rlimit 600 s' }. */
  readonly limitsInForce: Record<string, string>;
  /** What the jail can reach, read back after it started. */
  readonly networkInForce: NetworkInForce;
  /** Docker: the container's name on the engine (absent for jails). */
  readonly container?: string;
  /**
   * Runs one command in the persistent shell (cd, export and functions persist; stdin is /dev/null).
   * One at a time per sandbox: a call while another runs is refused with AppError INVALID_STATE
   * (callers that want a queue build it above). After close(): INVALID_STATE.
   */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Interrupts the running command (SIGINT, then SIGKILL after a grace). false when nothing was running. */
  interrupt(): Promise<boolean>;
  /**
   * `argv`: run that in the terminal instead of an interactive bash (where the driver allows; else
   * SANDBOX_UNAVAILABLE). `kept`: the session's terminal, which detach leaves running with the sandbox
   * for the process that adopts it (AdoptedSandbox.terminal), where the driver can; one at a time.
   */
  openPty(opts?: PtyOptions): Promise<Pty>;
  /** A long-lived process with pipes in the same jail (a stdio MCP server); absent where the driver has none. */
  spawn?(argv: string[], opts?: import('./process').SpawnOptions): Promise<import('./process').JailProcess>;
  on(event: 'crash', cb: (info: CrashInfo) => void): void;
  /** Every refused egress attempt (and allowed connection), as the proxy decided it. */
  on(event: 'egress', cb: (decision: EgressDecision) => void): void;
  /** Kills every process of the sandbox, whatever it forked or detached. Idempotent. */
  close(): Promise<void>;
  /** Whether the sandbox outlives the process that made it, for a successor to adopt (detach, state). */
  readonly outlivesProcess?: boolean;
  /** Whether its terminal opened `kept` outlives the process too (detach leaves it running). */
  readonly keepsTerminals?: boolean;
  /**
   * Lets go of the sandbox without stopping anything in it, for another process to adopt (where the
   * driver can). A running command goes on; its exec here rejects with `reason`. The kept terminal goes
   * on (where the driver keeps terminals); other terminals and spawned processes end. Afterwards the
   * sandbox is unusable here.
   */
  detach?(reason: Error): Promise<SandboxState>;
  /** The state as it is now: what a successor adopts should this process die without detaching. */
  state?(): SandboxState;
  /** Hears when state() changed in a way a successor needs: a command left a background job behind. */
  onStateChange?(cb: () => void): void;
  /** When the shell last saved its working folder and exports, which state() carries (ms since the epoch). */
  shellSavedAt?(): number;
}

export interface SandboxDriver {
  readonly name: 'bubblewrap' | 'docker';
  /** Whether sandboxes can be made on this host; `reason` says why not and what to do. */
  available(): Promise<{ ok: boolean; reason?: string }>;
  /** Throws AppError SANDBOX_UNAVAILABLE (with what to do) when the host cannot make sandboxes. */
  open(opts: OpenOptions): Promise<Sandbox>;
  /** Removes what a dead process of this host left behind (docker: its containers) but what is `kept` for adoption; the names removed. */
  removeLeftovers?(kept?: SandboxState[]): Promise<string[]>;
  /** Ends what the driver holds for sandboxes to come (the bubblewrap driver's pool of jails). */
  close?(): Promise<void>;
  /**
   * Takes over a sandbox another process detached or left (it died): the same one while it lives,
   * else a new one started from the state with the shell's working folder and exports restored.
   */
  adopt?(state: SandboxState, opts?: AdoptOptions): Promise<AdoptedSandbox>;
}
