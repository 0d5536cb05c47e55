import type { Readable, Writable } from 'node:stream';

/**
 * A long-lived process with pipes inside a sandbox's jail (e.g. a stdio MCP server): the same mounts,
 * pids, network and limits as the sandbox's shell, but its own stdin/stdout/stderr instead of the
 * shell's. It ends with the sandbox at the latest.
 */
export interface JailProcess {
  /** Host pid of the wrapper that joined the jail (its process group is the process's). */
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves with the exit code (null when killed by a signal) once it has ended. */
  readonly exited: Promise<number | null>;
  /** SIGTERM to its process group, SIGKILL after a grace; resolves once it has ended. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  /** Extra environment (on top of the sandbox's own); the host's environment is never passed through. */
  env?: Record<string, string>;
}
