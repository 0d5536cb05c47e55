import { AppError, type ActorV1, type ProjectPolicyV1, type SandboxNetworkV1, type SandboxSpecV1 } from '@codeagent/contracts';

// Who may ask for which network (API.md, "Sandbox network"), decided here because only the
// orchestrator knows both the actor and the project. The rules:
//  - `open` needs an admin (local mode's principal is one), a member an admin granted it to
//    (actor.allowOpenNetwork, kept by the gateway), or a project whose admin-set policy allows it
//    (settings.policy.allowOpenNetwork). Otherwise FORBIDDEN, saying so.
//  - A project's allowlist (settings.sandbox.network = {allow}) is the default of its sessions and
//    the most a member's session may reach: a member's own allowlist may narrow it, never widen it
//    (admins may). `none` is always fine. A project's `none` or no network is a default only.
//  - Credentials need `allow` or `open`. With no network asked anywhere they mean `{allow: []}` (only
//    the providers' hosts, which the egress proxy allows with each credential); with `none` asked
//    explicitly they are refused, since `none` promises no egress at all.
// Callers without an actor are the platform's own services: trusted, like an admin.

export interface ProjectNetworkSettings {
  name?: string;
  sandbox?: SandboxSpecV1;
  policy?: ProjectPolicyV1;
}

export function mayUseOpenNetwork(actor: ActorV1 | undefined, policy: ProjectPolicyV1 | undefined): boolean {
  return !actor || actor.role === 'admin' || actor.allowOpenNetwork === true || policy?.allowOpenNetwork === true;
}

const forbidden = (message: string, field: string) => new AppError('FORBIDDEN', message, { details: { field } });
const invalid = (path: string, message: string) => new AppError('VALIDATION_FAILED', `invalid request: ${path}: ${message}`, { details: { fields: [{ path, message }] } });

/**
 * The sandbox a new session gets: the project's defaults under what the session asks (field by field),
 * with the rules above applied. `asked` is what the request said (for a fork: the parent's sandbox
 * under the request's). Throws FORBIDDEN or VALIDATION_FAILED naming the field.
 */
export function sessionSandbox(asked: SandboxSpecV1 | undefined, project: ProjectNetworkSettings | undefined, actor: ActorV1 | undefined): SandboxSpecV1 {
  const own = definedOnly(asked ?? {});
  const merged: SandboxSpecV1 = { ...definedOnly(project?.sandbox ?? {}), ...own };
  const credentials = merged.credentials ? [...new Set(merged.credentials)] : undefined;
  let network = merged.network;
  if (credentials?.length) {
    if (network === 'none') {
      throw invalid('sandbox.credentials', 'credentials need network {"allow": [...]} or "open", and the network asked for is "none"; ask for {"allow": []} to reach only those providers');
    }
    network ??= { allow: [] };
  }
  const what = project?.name ? `project ${project.name}` : 'the project';
  if (network === 'open' && !mayUseOpenNetwork(actor, project?.policy)) {
    throw forbidden(
      `network "open" is for admins only${project ? `, and ${what}'s policy does not allow it for members` : ''}: ask an admin to allow it (per user, or per project with settings.policy.allowOpenNetwork), or ask for {"allow": [hosts]} instead`,
      'sandbox.network',
    );
  }
  const ceiling = project?.sandbox?.network;
  if (actor && actor.role !== 'admin' && typeof ceiling === 'object' && typeof network === 'object') {
    const widening = network.allow.findIndex((e) => !ceiling.allow.some((c) => allowCovers(c, e)));
    if (widening >= 0) {
      throw forbidden(
        `sandbox.network.allow[${widening}] "${network.allow[widening]}" is not within ${what}'s allowlist (${ceiling.allow.join(', ') || 'empty'}): a member's session may only narrow it; ask an admin or the project's owner to add it`,
        `sandbox.network.allow[${widening}]`,
      );
    }
  }
  return { ...merged, ...(network !== undefined ? { network } : {}), ...(credentials ? { credentials } : {}) };
}

/**
 * A project's settings as a member may change them: they may not set or change `policy` (admins
 * only), nor make `open` the project's default unless they may use it. `before`: the settings now.
 */
export function assertProjectSettingsAllowed(
  actor: ActorV1 | undefined,
  after: ProjectNetworkSettings,
  before: ProjectNetworkSettings = {},
): void {
  if (!actor || actor.role === 'admin') return;
  if (Boolean(after.policy?.allowOpenNetwork) !== Boolean(before.policy?.allowOpenNetwork)) {
    throw forbidden("only an admin may set a project's policy (settings.policy)", 'settings.policy');
  }
  const network: SandboxNetworkV1 | undefined = after.sandbox?.network;
  if (network === 'open' && before.sandbox?.network !== 'open' && !mayUseOpenNetwork(actor, after.policy)) {
    throw forbidden(
      'network "open" is for admins only: a member may not make it the default of a project whose policy does not allow it (settings.sandbox.network)',
      'settings.sandbox.network',
    );
  }
}

interface Entry {
  wildcard: boolean;
  name: string;
  port?: number;
}

function parse(entry: string): Entry {
  const m = /^(\*\.)?([^:]+)(?::(\d+))?$/.exec(entry);
  return { wildcard: Boolean(m?.[1]), name: m?.[2] ?? entry, ...(m?.[3] ? { port: Number(m[3]) } : {}) };
}

/**
 * Whether allowlist entry `outer` allows everything `inner` does (both valid entries). `*.x` covers
 * `a.x`, `*.a.x` and `*.x`, not `x`; an entry with a port covers only entries with that port.
 */
export function allowCovers(outer: string, inner: string): boolean {
  const o = parse(outer);
  const i = parse(inner);
  if (o.port !== undefined && o.port !== i.port) return false;
  if (!o.wildcard) return !i.wildcard && i.name === o.name;
  return i.name === o.name ? i.wildcard : i.name.endsWith(`.${o.name}`);
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
