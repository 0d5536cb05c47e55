import { envBool, envInt, loadEnv } from '@codeagent/config';
import { DatabaseEnv } from '@codeagent/db';
import { z } from 'zod';

/** The workspace service's environment, parsed once at start. */
export const loadServiceEnv = (env: NodeJS.ProcessEnv = process.env) =>
  loadEnv(
    {
      ...DatabaseEnv,
      /** Port of this service's /health and /metrics (0 picks a free one). */
      WORKSPACE_PORT: envInt(8082, 0, 65535),
      /** Where workspaces, layers and snapshots live; defaults to <DATA_DIR>/workspace. */
      WORKSPACE_DATA_DIR: z.string().optional(),
      /** Where snapshots (manifests and blobs) live; defaults to <workspace data dir>/snapshots. */
      WORKSPACE_SNAPSHOT_DIR: z.string().optional(),
      /** Disk quota of a workspace whose request names none, in MiB. */
      WORKSPACE_DEFAULT_QUOTA_MB: envInt(1024, 1, 10_485_760),
      /** Cap on the sum of all workspaces' quotas, in MiB (0: none). */
      WORKSPACE_GLOBAL_CAP_MB: envInt(51_200, 0, Number.MAX_SAFE_INTEGER),
      /** Remove workspaces no command has touched for this long, in ms (0: never). Default 24 h. */
      WORKSPACE_IDLE_TIMEOUT_MS: envInt(86_400_000, 0),
      /** How often idle workspaces and full disks are looked for, in ms. */
      WORKSPACE_SWEEP_INTERVAL_MS: envInt(60_000, 100),
      /** `auto` (overlay where mounts work, else copies), `overlay` (fail if impossible) or `copy`. */
      WORKSPACE_COW_MODE: z.enum(['auto', 'overlay', 'copy']).default('auto'),
      /** `auto` (loop-mounted ext4 images where possible), `loop` (fail if impossible) or `none` (soft quotas). */
      WORKSPACE_QUOTA_MODE: z.enum(['auto', 'loop', 'none']).default('auto'),
      /** Comma-separated folders that local sources may come from (empty: anywhere). */
      WORKSPACE_ALLOWED_ROOTS: z
        .string()
        .default('')
        .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
      /** Largest file the file API reads or writes, in bytes. */
      WORKSPACE_MAX_FILE_BYTES: envInt(10 * 1024 * 1024, 1),
      /** Most entries one file listing returns. */
      WORKSPACE_MAX_LIST_ENTRIES: envInt(10_000, 1),
      /** Overlay layers stacked by forks before a fork flattens them (the mount option is one page). */
      WORKSPACE_MAX_LAYER_DEPTH: envInt(24, 2, 64),
      /** Volumes of the default quota kept formatted and mounted ahead of need (0: make each on demand). */
      WORKSPACE_POOL_SIZE: envInt(2, 0, 32),
      /**
       * Unmount every workspace at a graceful stop (start mounts them again). Off (the default) keeps
       * them mounted across a restart, as the jails kept across it (SHELL_KEEP_JAILS) need: their files
       * stay the ones this service sees. Only for a host whose jails are closed at a stop.
       */
      WORKSPACE_UNMOUNT_ON_STOP: envBool(false),
    },
    env,
  );
export type ServiceEnv = ReturnType<typeof loadServiceEnv>;
