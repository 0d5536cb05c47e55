/**
 * The public contract of @codeagent/sandbox. Two drivers implement it (bubblewrap, docker); the shell
 * service depends only on these types. Keep it stable: add optional fields, never change existing ones.
 */

/** `none`: a private network namespace with only loopback. `open`: the host's network. */
export type Network = 'none' | 'open';

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

/** An interactive terminal inside the same jail (same mounts, pids, network and limits). */
export interface Pty {
  readonly pid: number;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Returns a function that removes the listener. */
  onData(cb: (data: string) => void): () => void;
  onExit(cb: (code: number) => void): void;
  close(): Promise<void>;
}

export interface CrashInfo {
  reason: string;
  /** Whether a fresh shell was started (cwd, exports and functions are lost then). */
  restarted: boolean;
}

export interface Sandbox {
  readonly id: string;
  readonly driver: 'bubblewrap' | 'docker';
  /** Which limits are enforced and how, e.g. { memory: 'cgroup v1 512 MiB', pids: 'cgroup v1 256', cpu: 'rlimit 600 s' }. */
  readonly limitsInForce: Record<string, string>;
  /**
   * Runs one command in the persistent shell (cd, export and functions persist; stdin is /dev/null).
   * One at a time per sandbox: a call while another runs is refused with AppError INVALID_STATE
   * (callers that want a queue build it above). After close(): INVALID_STATE.
   */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Interrupts the running command (SIGINT, then SIGKILL after a grace). false when nothing was running. */
  interrupt(): Promise<boolean>;
  openPty(opts?: { cols?: number; rows?: number }): Promise<Pty>;
  on(event: 'crash', cb: (info: CrashInfo) => void): void;
  /** Kills every process of the sandbox, whatever it forked or detached. Idempotent. */
  close(): Promise<void>;
}

export interface SandboxDriver {
  readonly name: 'bubblewrap' | 'docker';
  /** Whether sandboxes can be made on this host; `reason` says why not and what to do. */
  available(): Promise<{ ok: boolean; reason?: string }>;
  /** Throws AppError SANDBOX_UNAVAILABLE (with what to do) when the host cannot make sandboxes. */
  open(opts: OpenOptions): Promise<Sandbox>;
}
