import type { EventName, EventPayload } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';

/** Publishes an event; the bus in production, a recorder in unit tests. */
export type Publish = <N extends EventName>(name: N, payload: EventPayload<N>) => Promise<void>;

export interface WorkspaceConfig {
  /** Quota of a workspace whose request names none. */
  defaultQuotaMb: number;
  /** The sum of all workspaces' quotas may not pass this (0: no cap). */
  globalCapMb: number;
  /** Workspaces untouched for this long are removed (0: never). */
  idleTimeoutMs: number;
  /** Local folders that `path` and `worktree` sources may come from (empty: any). */
  allowedRoots: string[];
  maxFileBytes: number;
  maxListEntries: number;
  /** Overlay layers deeper than this are flattened at the next fork (the mount option has a size limit). */
  maxLayerDepth: number;
  /** Volumes of the default quota kept ready (formatted and mounted) for fast prepare and fork. */
  poolSize?: number;
}

export interface Deps {
  log: Logger;
  publish: Publish;
  config: WorkspaceConfig;
}
