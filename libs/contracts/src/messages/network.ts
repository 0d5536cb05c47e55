import { z } from 'zod';

// A sandbox's network policy (API.md, "Sandbox network") and what the egress proxy reports. One
// schema for every allowlist entry, used by the gateway (400 naming the entry), the orchestrator
// (project defaults, policy) and the shell (shell.open). Mirrors libs/sandbox/src/types.ts.

/** Most entries one allowlist may hold. */
export const MAX_ALLOW_ENTRIES = 256;
/** Longest entry: a 253-character name and `:65535`. */
export const MAX_ALLOW_ENTRY_LENGTH = 259;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Why an allowlist entry is malformed, for a person; undefined when it is fine. */
export function allowEntryProblem(entry: string): string | undefined {
  if (entry.length === 0) return 'an empty entry';
  if (entry.length > MAX_ALLOW_ENTRY_LENGTH) return `longer than ${MAX_ALLOW_ENTRY_LENGTH} characters`;
  if (/\s/.test(entry)) return 'contains white space';
  if (entry.includes('://')) return 'a host name, not a URL: leave out the scheme (e.g. "pypi.org", not "https://pypi.org")';
  if (entry.includes('/')) return 'a host name, not a URL: leave out the path';
  if (entry.includes('@')) return 'a host name: leave out user names and passwords';
  if (entry.startsWith('[') || (entry.match(/:/g)?.length ?? 0) > 1) return 'IPv6 addresses cannot be allowed; name a host';
  if (entry !== entry.toLowerCase()) return 'write host names in lower case';
  let host = entry;
  const colon = entry.lastIndexOf(':');
  if (colon >= 0) {
    const port = entry.slice(colon + 1);
    host = entry.slice(0, colon);
    if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535) return `port "${port}" is not a number from 1 to 65535`;
  }
  if (host === '*' || host === '*.') return 'a bare "*" allows everything: ask for network "open" instead';
  const wildcard = host.startsWith('*.');
  const name = wildcard ? host.slice(2) : host;
  if (name.includes('*')) return '"*" may only start an entry, as "*." followed by a name (e.g. "*.npmjs.org")';
  if (name.length === 0) return 'no host name';
  if (name.length > 253) return 'a host name is at most 253 characters';
  const labels = name.split('.');
  if (labels.some((l) => l.length === 0)) return 'an empty label (two dots in a row, or a dot at the start or end)';
  if (IPV4.test(name)) return wildcard ? 'a wildcard cannot cover an IP address' : undefined;
  if (labels.every((l) => /^\d+$/.test(l))) return 'not a host name nor an IPv4 address';
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) return `label "${bad}" is not letters, digits and inner hyphens (at most 63)`;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return 'the last label of a host name cannot be all digits';
  if (wildcard && labels.length < 2) return `"*.${name}" covers a whole top-level domain; name at least two labels after "*."`;
  return undefined;
}

/**
 * One allowlist entry: an exact host name (or IPv4 address), or `*.` and a name (its subdomains, not
 * the name itself), with an optional `:port` (any port when absent). Lower case; no scheme, path,
 * user, IPv6 or empty labels. E.g. `pypi.org`, `*.npmjs.org`, `github.com:443`.
 */
export const AllowEntryV1 = z
  .string()
  .superRefine((s, ctx) => {
    const problem = allowEntryProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: `"${s.length > 80 ? `${s.slice(0, 80)}…` : s}": ${problem}` });
  })
  .meta({ description: 'An exact host name (or IPv4 address), or "*." and a name (its subdomains), with an optional ":port"; lower case.', examples: ['pypi.org', '*.npmjs.org', 'github.com:443'] });

/** `{allow: [...]}`: only those hosts, through the platform's egress proxy; names resolve only if allowed. */
export const AllowNetworkV1 = z
  .object({
    /** Exact names, `*.` wildcards, optional ports; at most 256 entries. An empty list: nothing (but credentials' hosts). */
    // A refinement, not .max(): a failed .max() would hide this branch's issue inside the union's.
    allow: z.array(AllowEntryV1).superRefine((a, ctx) => {
      if (a.length > MAX_ALLOW_ENTRIES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_ALLOW_ENTRIES} entries (got ${a.length})` });
    }),
  })
  .strict();
export type AllowNetworkV1 = z.infer<typeof AllowNetworkV1>;

/**
 * How a sandbox reaches the network. `none` (default): loopback only. `{allow}`: those hosts only,
 * through the egress proxy. `open`: any public host (team mode: admins, or where an admin's policy
 * allows it). No mode ever reaches the host, its loopback, private or link-local addresses.
 */
export const SandboxNetworkV1 = z
  .union([z.literal('none'), z.literal('open'), AllowNetworkV1], {
    error: 'network is "none", "open" or {"allow": ["host", "*.domain", "host:port", ...]}',
  })
  .meta({
    description:
      '"none" (default): loopback only. {"allow": [...]}: only those hosts (exact names, "*." wildcards for subdomains, optional ":port"; lower case, no scheme or path; at most 256), through the platform\'s egress proxy; names resolve only if allowed. "open": any public host (team mode: admins, or where an admin\'s policy allows it). No mode reaches the host, its loopback, private or link-local addresses.',
    examples: ['none', { allow: ['pypi.org', '*.npmjs.org', 'github.com:443'] }, 'open'],
  });
export type SandboxNetworkV1 = z.infer<typeof SandboxNetworkV1>;

/**
 * A provider whose key the egress proxy adds for code in the jail (`sandbox.credentials`): the name
 * of a configured provider, usable as a host label (`<name>.credentials.internal` in the jail).
 */
export const CredentialNameV1 = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a provider name usable as a credential: lower-case letters, digits and "-" (at most 63)');

/** What a jail can really reach, read back from its network namespace after it started. */
export const NetworkInForceV1 = z.object({
  mode: z.enum(['none', 'allow', 'open']),
  /** Interfaces of the jail's own namespace, e.g. `["lo"]`. */
  interfaces: z.array(z.string()),
  /** Routes other than loopback in the jail's namespace (0: nothing leaves it directly). */
  routes: z.number().int().nonnegative(),
  /** The egress proxy as the jail sees it (`allow`/`open`), e.g. `http://127.0.0.1:3128`. */
  proxy: z.string().optional(),
  /** The jail's DNS server (`allow`/`open`): answers only names the policy allows. */
  dns: z.string().optional(),
  /** The allowlist in force (`allow`). */
  allow: z.array(z.string()).optional(),
  /** Providers whose keys the proxy adds. */
  credentials: z.array(z.string()).optional(),
  /** Address ranges an admin's policy opened despite being private, loopback or link-local. */
  allowAddresses: z.array(z.string()).optional(),
});
export type NetworkInForceV1 = z.infer<typeof NetworkInForceV1>;

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name');

/**
 * A provider key for the egress proxy (libs/sandbox EgressCredential), built by the orchestrator from
 * its sealed key for one shell.open and never stored. SECRET: `headers` holds the key; loggers redact
 * `credentials[*].headers` (libs/telemetry), and nothing else may print it.
 */
export const EgressCredentialV1 = z.object({
  /** The provider's name, e.g. `anthropic`; the jail calls `http://<name>.credentials.internal/`. */
  name: CredentialNameV1,
  /** The provider's API base URL, e.g. `https://api.anthropic.com` (a path prefix is kept). */
  upstream: z.string().url().max(2000),
  /** SECRET. Added to every request, replacing what the jail sent under those names, e.g. `{"x-api-key": "..."}`. */
  headers: z.record(z.string().min(1).max(200), z.string().max(8192)).meta({ secret: true }),
  /** Variables set in the jail to the in-jail base URL, e.g. `["ANTHROPIC_BASE_URL"]`. */
  baseUrlEnv: z.array(EnvName).max(8).optional(),
  /** Variables set in the jail to a placeholder key, e.g. `["ANTHROPIC_API_KEY"]`. */
  placeholderKeyEnv: z.array(EnvName).max(8).optional(),
});
export type EgressCredentialV1 = z.infer<typeof EgressCredentialV1>;

/**
 * Egress the proxy refused for a session's jail (a connection, a plain HTTP request, a DNS question,
 * a credential call). The shell coalesces a flood: one event per host, port and way per window, with
 * `count` saying how many attempts it stands for.
 */
export const ShellEgressDeniedV1 = z.object({
  sessionId: z.string(),
  /** The name (or address) asked for, as the jail gave it. */
  host: z.string().max(300),
  port: z.number().int().min(0).max(65535),
  /** `connect` (CONNECT tunnel), `http` (plain proxied request), `dns`, `credential`. */
  via: z.enum(['connect', 'http', 'dns', 'credential']),
  /** Why, for a person, e.g. `not in the allowlist`. */
  reason: z.string().max(500),
  /** Attempts this event stands for (1 unless a flood was coalesced). */
  count: z.number().int().positive().default(1),
  /** When the first of them was refused, ISO 8601. */
  at: z.string(),
});
export type ShellEgressDeniedV1 = z.infer<typeof ShellEgressDeniedV1>;
