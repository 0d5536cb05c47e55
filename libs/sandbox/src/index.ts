export type { Network, EgressCredential, EgressDecision, EgressOptions, NetworkInForce, Limits, OpenOptions, OutputChunk, ExecOptions, ExecResult, Pty, PtyOptions, CrashInfo, Sandbox, SandboxDriver, SandboxState, AdoptedSandbox, AdoptOptions, Restored } from './types';
/** What a restored shell got back and lost, in the words and fields of a `shell.crashed`. */
export { describeRestored, restoredFields } from './shell/snapshot';
export type { JailProcess, SpawnOptions } from './process';
export { BubblewrapDriver, DEFAULT_LIMITS } from './bubblewrap/driver';
/** The command protocol over a shell's stdio, for drivers that run the shell elsewhere (e.g. Docker). */
export { ShellChannel, type ShellPipes } from './shell/channel';
export { DockerDriver, type DockerDriverOptions, type DockerOpenOptions } from './docker/driver';
/** Host tools (mount, mkfs, git...) run by small helper shells instead of forking this process. */
export { runHostTool, type HostToolOptions } from './host/tools';
