import { z } from 'zod';
import { command, event } from '../define';

// Workspaces: the code a session works on. Owned by services/workspace. Every `path` in a request is
// relative to the workspace root and is refused with PATH_OUTSIDE_WORKSPACE if it leads outside.

export const WorkspaceSourceV1 = z.discriminatedUnion('kind', [
  /** A local folder, copied (copy-on-write where the host allows). */
  z.object({ kind: z.literal('path'), path: z.string().min(1) }),
  /** A local git repository: a `git worktree` on a new branch, removed with the workspace. */
  z.object({ kind: z.literal('worktree'), path: z.string().min(1), branch: z.string().optional() }),
  /** A git URL (or file:// path), cloned. */
  z.object({ kind: z.literal('git'), url: z.string().min(1), ref: z.string().optional() }),
  /** Nothing: an empty folder. */
  z.object({ kind: z.literal('empty') }),
]);
export type WorkspaceSourceV1 = z.infer<typeof WorkspaceSourceV1>;

/** What discovery found (seed 000's order: Dockerfile → devcontainer.json → language files → default). */
export const DiscoveryV1 = z.object({
  kind: z.enum(['dockerfile', 'devcontainer', 'language', 'default']),
  /** e.g. "node", "rust", "go", "python", "java", "ruby", "generic". */
  toolchain: z.string(),
  buildCommand: z.string().optional(),
  testCommand: z.string().optional(),
  /** The sandbox driver that fits: docker when the project brings an image definition. */
  driver: z.enum(['bubblewrap', 'docker']),
  image: z.string().optional(),
  details: z.record(z.string(), z.unknown()).default({}),
  /** API.md's name for `kind`. */
  tier: z.enum(['dockerfile', 'devcontainer', 'language', 'default']).optional(),
  /** Every language whose files the project holds, the main one first (empty for the default tier). */
  languages: z.array(z.string()).optional(),
  /** How to install the dependencies, e.g. `npm ci`, `pip install -e .`. */
  setupCommand: z.string().optional(),
  /** Tools the language tier needs that the sandbox host lacks (the jail sees the host's /usr). */
  missing: z.array(z.string()).optional(),
  /** The Dockerfile to build (relative to the project), for the dockerfile tier and a devcontainer's `build`. */
  dockerfile: z.string().optional(),
  /** What a devcontainer.json asks for, as the docker driver honours it. */
  devcontainer: z
    .object({
      /** The devcontainer.json, relative to the project. */
      file: z.string(),
      /** Variables set in the container (`containerEnv`). */
      containerEnv: z.record(z.string(), z.string()).optional(),
      /** The user the shell runs as (`remoteUser`, else `containerUser`). */
      remoteUser: z.string().optional(),
      /** Run once in the container after it starts (`postCreateCommand`, an array joined as one command line). */
      postCreateCommand: z.string().optional(),
      /** What is not honoured, for a person (e.g. features, which need a registry: not supported offline). */
      unsupported: z.array(z.string()).optional(),
    })
    .optional(),
});
export type DiscoveryV1 = z.infer<typeof DiscoveryV1>;

/** How a workspace is stored. */
export const WorkspaceStorageV1 = z.object({
  /** overlay: copy-on-write layers; copy: a full copy (host without overlay mounts); worktree: a git worktree. */
  mode: z.enum(['overlay', 'copy', 'worktree']),
  /** hard: enforced by the kernel (a write past it fails with ENOSPC); soft: checked by the service only. */
  quota: z.enum(['hard', 'soft']),
  /** Overlay lower layers under it. */
  layers: z.number().int().nonnegative(),
  /** Fallbacks taken and why, in words. */
  notes: z.array(z.string()),
});

export const WorkspaceV1 = z.object({
  workspaceId: z.string(),
  /** Host path the shell mounts at /workspace. */
  path: z.string(),
  source: WorkspaceSourceV1,
  quotaMb: z.number().int().nonnegative(),
  usedBytes: z.number().int().nonnegative(),
  createdAt: z.string(),
  discovery: DiscoveryV1.optional(),
  /** Who it is for, as given to prepare/fork. */
  owner: z.string().optional(),
  /** How its files are stored, and the fallbacks taken on this host. */
  storage: WorkspaceStorageV1.optional(),
  /** What it was forked from. */
  parent: z.object({ workspaceId: z.string().optional(), snapshotId: z.string().optional() }).optional(),
});
export type WorkspaceV1 = z.infer<typeof WorkspaceV1>;

export const WorkspacePrepareV1 = z.object({
  source: WorkspaceSourceV1,
  /** Hard disk quota in MiB; the service default when absent. */
  quotaMb: z.number().int().min(1).max(10_485_760).optional(),
  /** Who it is for (for listing and cleanup). */
  owner: z.string().optional(),
});
export const WorkspaceRefV1 = z.object({ workspaceId: z.string().min(1) });
/**
 * What to discover: a workspace, or a project's source as it is now (a local folder, worktree or local
 * git repository, read in place; WORKSPACE_ALLOWED_ROOTS applies). A remote git URL is not fetched for
 * this: its discovery comes from a session's workspace.
 */
export const WorkspaceDiscoverV1 = z
  .object({ workspaceId: z.string().min(1).optional(), source: WorkspaceSourceV1.optional() })
  .refine((r) => Boolean(r.workspaceId) !== Boolean(r.source), { message: 'give exactly one of workspaceId or source', path: ['workspaceId'] })
  // The same rule for JSON Schema readers (AsyncAPI), which cannot run the refinement.
  .meta({ oneOf: [{ required: ['workspaceId'] }, { required: ['source'] }] });
export const WorkspaceRemovedReplyV1 = z.object({ removed: z.boolean() });

export const SnapshotV1 = z.object({
  snapshotId: z.string(),
  workspaceId: z.string(),
  label: z.string().optional(),
  createdAt: z.string(),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** Checksum over the snapshot's manifest. */
  checksum: z.string(),
});
export const WorkspaceSnapshotV1 = z.object({ workspaceId: z.string().min(1), label: z.string().max(200).optional() });
export const WorkspaceRestoreV1 = z.object({ workspaceId: z.string().min(1), snapshotId: z.string().min(1) });
export const WorkspaceDiffV1 = z.object({
  workspaceId: z.string().min(1),
  /**
   * A snapshot id, or "start" for the workspace as it was prepared or forked (its immutable overlay
   * layers; a copy-mode or worktree workspace keeps no such state and answers INVALID_STATE).
   */
  from: z.string().min(1),
  /** A snapshot id, or "live" (default) for the workspace as it is now. */
  to: z.string().min(1).default('live'),
});
export const DiffReplyV1 = z.object({
  added: z.array(z.string()),
  changed: z.array(z.string()),
  removed: z.array(z.string()),
  /** Unified diff of changed text files. */
  patch: z.string(),
  /** Whether the patch was cut at its size cap. */
  truncated: z.boolean().optional(),
});
export const WorkspaceForkV1 = z.object({
  /** Fork the live state of this workspace... */
  workspaceId: z.string().min(1).optional(),
  /** ...or the state of this snapshot. */
  snapshotId: z.string().min(1).optional(),
  owner: z.string().optional(),
});

export const FileReadV1 = z.object({ workspaceId: z.string().min(1), path: z.string().max(4096).default('.') });
export const FileEntryV1 = z.object({ name: z.string(), path: z.string(), type: z.enum(['file', 'dir', 'symlink', 'other']), size: z.number().int().nonnegative(), mtime: z.string() });
export const FileReadReplyV1 = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), path: z.string(), content: z.string(), encoding: z.enum(['utf8', 'base64']), size: z.number().int(), binary: z.boolean() }),
  z.object({ type: z.literal('dir'), path: z.string(), entries: z.array(FileEntryV1) }),
]);
export const FileWriteV1 = z.object({
  workspaceId: z.string().min(1),
  path: z.string().min(1).max(4096),
  content: z.string().max(50 * 1024 * 1024),
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
});
export const FileWriteReplyV1 = z.object({ path: z.string(), size: z.number().int() });
export const FileListV1 = z.object({ workspaceId: z.string().min(1), path: z.string().max(4096).default('.'), recursive: z.boolean().default(false) });
export const FileListReplyV1 = z.object({ entries: z.array(FileEntryV1), truncated: z.boolean() });
export const FileSearchV1 = z.object({ workspaceId: z.string().min(1), query: z.string().min(1).max(1000), regex: z.boolean().default(false), path: z.string().default('.'), maxResults: z.number().int().min(1).max(10_000).default(200) });
export const FileSearchReplyV1 = z.object({ matches: z.array(z.object({ path: z.string(), line: z.number().int(), text: z.string() })), truncated: z.boolean() });
export const FileStatV1 = z.object({ workspaceId: z.string().min(1), path: z.string().max(4096) });
export const FileMoveV1 = z.object({ workspaceId: z.string().min(1), from: z.string().min(1).max(4096), to: z.string().min(1).max(4096) });
export const FileDeleteV1 = z.object({ workspaceId: z.string().min(1), path: z.string().min(1).max(4096), recursive: z.boolean().default(false) });

export const workspaceCommands = {
  'workspace.prepare': command('workspace', { request: WorkspacePrepareV1, reply: WorkspaceV1, summary: 'prepare a workspace from a source' }),
  'workspace.get': command('workspace', { request: WorkspaceRefV1, reply: WorkspaceV1, summary: 'a workspace and its usage' }),
  'workspace.list': command('workspace', { request: z.object({ owner: z.string().optional() }), reply: z.object({ workspaces: z.array(WorkspaceV1) }), summary: 'workspaces' }),
  'workspace.remove': command('workspace', { request: WorkspaceRefV1, reply: WorkspaceRemovedReplyV1, summary: 'remove a workspace and everything it left' }),
  'workspace.snapshot': command('workspace', { request: WorkspaceSnapshotV1, reply: SnapshotV1, summary: 'an immutable snapshot of the live state' }),
  'workspace.snapshots': command('workspace', { request: WorkspaceRefV1, reply: z.object({ snapshots: z.array(SnapshotV1) }), summary: 'list snapshots' }),
  'workspace.snapshot.delete': command('workspace', { request: z.object({ snapshotId: z.string().min(1) }), reply: z.object({ deleted: z.boolean() }), summary: 'delete a snapshot; content no other snapshot holds is freed' }),
  'workspace.restore': command('workspace', { request: WorkspaceRestoreV1, reply: WorkspaceV1, summary: 'put a snapshot back as the live state' }),
  'workspace.diff': command('workspace', { request: WorkspaceDiffV1, reply: DiffReplyV1, summary: 'differences between snapshots or a snapshot and the live state' }),
  'workspace.fork': command('workspace', { request: WorkspaceForkV1, reply: WorkspaceV1, summary: 'a new workspace from a snapshot or a live workspace' }),
  'workspace.discover': command('workspace', { request: WorkspaceDiscoverV1, reply: DiscoveryV1, summary: 'what toolchain and sandbox the project needs' }),
  'workspace.file.read': command('workspace', { request: FileReadV1, reply: FileReadReplyV1, summary: "a file's content or a folder's listing" }),
  'workspace.file.write': command('workspace', { request: FileWriteV1, reply: FileWriteReplyV1, summary: 'write a file atomically' }),
  'workspace.file.list': command('workspace', { request: FileListV1, reply: FileListReplyV1, summary: 'list files, honouring .gitignore' }),
  'workspace.file.search': command('workspace', { request: FileSearchV1, reply: FileSearchReplyV1, summary: 'search file contents' }),
  'workspace.file.stat': command('workspace', { request: FileStatV1, reply: FileEntryV1, summary: 'stat a path' }),
  'workspace.file.move': command('workspace', { request: FileMoveV1, reply: z.object({ from: z.string(), to: z.string() }), summary: 'move or rename' }),
  'workspace.file.delete': command('workspace', { request: FileDeleteV1, reply: z.object({ deleted: z.boolean() }), summary: 'delete a file or folder' }),
} as const;

const WorkspaceEventV1 = z.object({ workspaceId: z.string(), owner: z.string().optional() });
export const workspaceEvents = {
  'workspace.prepared': event({ schema: WorkspaceEventV1.extend({ path: z.string(), sourceKind: z.string() }), summary: 'a workspace is ready' }),
  'workspace.snapshotted': event({ schema: WorkspaceEventV1.extend({ snapshotId: z.string(), bytes: z.number().int() }), summary: 'a snapshot was taken' }),
  'workspace.restored': event({ schema: WorkspaceEventV1.extend({ snapshotId: z.string() }), summary: 'a snapshot was restored' }),
  'workspace.forked': event({ schema: WorkspaceEventV1.extend({ fromWorkspaceId: z.string().optional(), fromSnapshotId: z.string().optional() }), summary: 'a workspace was forked' }),
  'workspace.removed': event({ schema: WorkspaceEventV1.extend({ /** Why: requested, idle. */ reason: z.string().optional() }), summary: 'a workspace was removed' }),
  'workspace.quota_exceeded': event({ schema: WorkspaceEventV1.extend({ quotaMb: z.number(), usedBytes: z.number() }), summary: 'a write hit the disk quota' }),
} as const;
