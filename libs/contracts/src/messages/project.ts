import { z } from 'zod';
import { command, event } from '../define';
import { AgentRoleV1, RoleConfigV1 } from './llm';
import { McpServerConfigV1 } from './mcp';
import { ActorV1, SandboxSpecV1, SourceInputV1 } from './session';
import { DiscoveryV1, WorkspaceSourceV1 } from './workspace';

// Projects. Owned by services/orchestrator (src/projects). The gateway maps /api/v1/projects onto the
// commands; project-ci opens a project's chat socket on `project.created` (port base + `index`) and
// closes it on `project.deleted`.

/** What an admin allows on a project beyond the platform's defaults. */
export const ProjectPolicyV1 = z
  .object({
    /** Members' sessions of this project may ask for network `open` (team mode; default false). */
    allowOpenNetwork: z.boolean().optional(),
  })
  .strict();
export type ProjectPolicyV1 = z.infer<typeof ProjectPolicyV1>;

/** A project's settings; every field optional, absent means the platform default. */
export const ProjectSettingsV1 = z.object({
  /** Provider, model and fallbacks per agent role (seed 003), overriding the global configuration. */
  agents: z.partialRecord(AgentRoleV1, RoleConfigV1).optional(),
  /** The provider and model of the project's CI socket (project-ci). */
  ci: z.object({ provider: z.string().min(1).max(64).optional(), model: z.string().min(1).max(200).optional() }).optional(),
  /**
   * Sandbox defaults of the project's sessions (a session's own `sandbox` wins field by field). An
   * allowlist here is also the most a member's session of the project may reach: its own allowlist
   * may only narrow it (admins may widen it).
   */
  sandbox: SandboxSpecV1.optional(),
  /** An admin's policy for the project: only admins may set or change it (403 for anyone else). */
  policy: ProjectPolicyV1.optional(),
  /** Keep a session's workspace after it closes (default: remove). */
  keepWorkspaces: z.boolean().optional(),
  /** The markdown task list synced with the project's tasks, relative to its source folder (default docs/TASKS.md). */
  tasksFile: z.string().min(1).max(400).optional(),
  /** MCP servers whose tools the project's agents may call, per role (messages/mcp.ts); names unique. */
  mcpServers: z.array(McpServerConfigV1).max(20).refine((a) => new Set(a.map((s) => s.name)).size === a.length, 'MCP server names must be unique').optional(),
});
export type ProjectSettingsV1 = z.infer<typeof ProjectSettingsV1>;

const ProjectName = z.string().trim().min(1).max(200);

/**
 * Who sees a project besides its owner and admins: `private` (nobody; the default in team mode) or
 * `team` (every member, who may then open sessions and add tasks on it; only the owner or an admin
 * changes or deletes it). A project without an owner (made by the platform itself) is the team's.
 */
export const ProjectVisibilityV1 = z.enum(['private', 'team']);
export type ProjectVisibilityV1 = z.infer<typeof ProjectVisibilityV1>;

/**
 * API.md's "Project discovery": what the project's files ask for (seed 000's order: Dockerfile →
 * devcontainer.json → language files → default) and the sandbox driver that follows from it. Computed
 * when the project is added and when its files change.
 */
export const ProjectDiscoveryV1 = z.object({
  tier: z.enum(['dockerfile', 'devcontainer', 'language', 'default']),
  /** Every language whose files the project holds, the main one first. */
  languages: z.array(z.string()),
  /** The driver its sessions get unless they ask for another (`docker` for dockerfile and devcontainer with an image or build). */
  driver: z.enum(['bubblewrap', 'docker']),
  /** The base image (a Dockerfile's FROM, a devcontainer's `image`). */
  image: z.string().optional(),
  /** The Dockerfile built for its sessions (relative to the project). */
  dockerfile: z.string().optional(),
  /** Suggested: install the dependencies. */
  setupCommand: z.string().optional(),
  /** Suggested: run the tests. */
  testCommand: z.string().optional(),
  /** Tools the language tier needs that the sandbox host lacks. */
  missing: z.array(z.string()).optional(),
  devcontainer: DiscoveryV1.shape.devcontainer,
  /** When it was computed. */
  checkedAt: z.string(),
});
export type ProjectDiscoveryV1 = z.infer<typeof ProjectDiscoveryV1>;

export const ProjectV1 = z.object({
  /** `prj_…`, unique. */
  id: z.string(),
  /** Unique (case-sensitive); what `[Project: <name>]` shows. */
  name: z.string(),
  /** Small, stable, unique among live projects: the lowest free one at creation, reused after a delete. */
  index: z.number().int().nonnegative(),
  source: WorkspaceSourceV1,
  settings: ProjectSettingsV1,
  /** Who created it. */
  owner: z.string().optional(),
  /** Who else sees it (ProjectVisibilityV1); always set by the orchestrator. */
  visibility: ProjectVisibilityV1.optional(),
  /** What its files ask for (absent until first computed, e.g. a remote git project before its first session). */
  discovery: ProjectDiscoveryV1.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ProjectV1 = z.infer<typeof ProjectV1>;

const actor = { /** Who acts (see messages/session.ts). */ actor: ActorV1.optional() };

export const ProjectCreateV1 = z.object({
  name: ProjectName,
  source: SourceInputV1,
  settings: ProjectSettingsV1.default({}),
  /** Defaults to the actor, then metadata.user. */
  owner: z.string().min(1).max(200).optional(),
  /** Defaults to `private`. */
  visibility: ProjectVisibilityV1.optional(),
  ...actor,
});
/** A member's list holds their own projects and the team's; an admin's (and the platform's) all. */
export const ProjectListV1 = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  cursor: z.string().max(400).optional(),
  ...actor,
});
export const ProjectListReplyV1 = z.object({ projects: z.array(ProjectV1), nextCursor: z.string().optional() });
/** By id, or by name (the `project_name` of seed 004). A project the actor may not see is NOT_FOUND. */
export const ProjectRefV1 = z.object({ projectId: z.string().min(1).max(200), ...actor });
export const ProjectUpdateV1 = z
  .object({
    projectId: z.string().min(1).max(200),
    name: ProjectName.optional(),
    source: SourceInputV1.optional(),
    /** Replaces the settings given, field by field (top level); `null` resets a field to the default. */
    settings: z.record(z.string(), z.unknown()).optional(),
    /** Only the owner or an admin changes it. */
    visibility: ProjectVisibilityV1.optional(),
    ...actor,
  });
export const ProjectDeleteReplyV1 = z.object({ deleted: z.boolean(), project: ProjectV1.optional() });

export const projectCommands = {
  'orchestrator.project.create': command('orchestrator', { request: ProjectCreateV1, reply: ProjectV1, summary: 'create a project (lowest free index); publishes project.created' }),
  'orchestrator.project.list': command('orchestrator', { request: ProjectListV1, reply: ProjectListReplyV1, summary: 'projects, by index' }),
  'orchestrator.project.get': command('orchestrator', { request: ProjectRefV1, reply: ProjectV1, summary: 'a project, by id or name' }),
  'orchestrator.project.update': command('orchestrator', { request: ProjectUpdateV1, reply: ProjectV1, summary: 'rename, change source or settings; publishes project.updated' }),
  'orchestrator.project.delete': command('orchestrator', { request: ProjectRefV1, reply: ProjectDeleteReplyV1, summary: 'delete a project (its index becomes free); publishes project.deleted' }),
} as const;

/** What project events carry: enough for project-ci to open or close the project's socket. */
export const ProjectEventV1 = z.object({
  projectId: z.string(),
  name: z.string(),
  index: z.number().int().nonnegative(),
  settings: ProjectSettingsV1,
  source: WorkspaceSourceV1,
  owner: z.string().optional(),
  visibility: ProjectVisibilityV1.optional(),
  at: z.string(),
});
export type ProjectEventV1 = z.infer<typeof ProjectEventV1>;

export const projectEvents = {
  'project.created': event({ schema: ProjectEventV1, summary: 'a project was created' }),
  'project.updated': event({ schema: ProjectEventV1.extend({ /** The name before a rename. */ previousName: z.string().optional() }), summary: 'a project was renamed or its source or settings changed' }),
  'project.deleted': event({ schema: ProjectEventV1, summary: 'a project was deleted; its index is free again' }),
} as const;
