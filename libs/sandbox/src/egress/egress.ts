import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@codeagent/contracts';
import type { EgressCredential, EgressDecision, EgressOptions, Network, NetworkInForce } from '../types';
import { DNS_PORT, openJailListeners, PROXY_PORT } from './attach';
import { AddressPolicy, HostPolicy } from './policy';
import { CREDENTIAL_DOMAIN, JailEgress } from './proxy';
import { readNetworkInForce } from './in-force';

const CREDENTIAL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `network` of OpenOptions, as both drivers parse it (entries are checked by HostPolicy, naming the bad one). */
export const NetworkSchema = z.union([z.enum(['none', 'open']), z.object({ allow: z.array(z.string().max(260)).max(1000) }).strict()]);
/** `credentials` of OpenOptions. */
export const CredentialsSchema = z
  .array(
    z.object({
      name: z.string(),
      upstream: z.string(),
      headers: z.record(z.string(), z.string()),
      baseUrlEnv: z.array(z.string().regex(ENV_NAME)).optional(),
      placeholderKeyEnv: z.array(z.string().regex(ENV_NAME)).optional(),
    }),
  )
  .max(32)
  .default([]);
/** What tools that refuse to start without a key are given; the proxy replaces it with the real one. */
export const PLACEHOLDER_KEY = 'codeagent-egress-proxy-adds-the-key';

/**
 * The egress of one sandbox: the policy it was opened with, the environment that points its tools at
 * the proxy, and the proxy itself once attached to a running jail (again after each restart, which
 * makes a new network namespace).
 */
export class SandboxEgress {
  private readonly hosts?: HostPolicy;
  private current?: JailEgress;

  constructor(
    readonly network: Network,
    private readonly credentials: EgressCredential[],
    private readonly addresses: AddressPolicy,
    private readonly resolve: (host: string) => Promise<string[]>,
    private readonly onDecision: (d: EgressDecision) => void,
  ) {
    if (network !== 'none') this.hosts = new HostPolicy(network);
    if (credentials.length > 0 && network === 'none') {
      throw new AppError('VALIDATION_FAILED', 'credentials need a network mode with egress (allow or open): with network "none" nothing leaves the jail');
    }
    for (const c of credentials) {
      if (!CREDENTIAL_NAME.test(c.name)) throw new AppError('VALIDATION_FAILED', `credential name "${c.name}": lowercase letters, digits and hyphens`);
      let url: URL;
      try {
        url = new URL(c.upstream);
      } catch {
        throw new AppError('VALIDATION_FAILED', `credential ${c.name}: upstream "${c.upstream}" is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('VALIDATION_FAILED', `credential ${c.name}: upstream must be http(s)`);
    }
  }

  /** Whether the jail has a way out at all (a proxy to attach). */
  get hasEgress(): boolean {
    return this.hosts !== undefined;
  }

  /** Environment of the jail's processes: the proxy for every common client, and credential base URLs. */
  env(): Record<string, string> {
    if (!this.hosts) return {};
    const proxy = `http://127.0.0.1:${PROXY_PORT}`;
    const env: Record<string, string> = {
      HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, ALL_PROXY: proxy, all_proxy: proxy,
      NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1',
      // Node 24+ reads the variables above only when told to.
      NODE_USE_ENV_PROXY: '1',
    };
    for (const c of this.credentials) {
      for (const k of c.baseUrlEnv ?? []) env[k] = `http://${c.name}.${CREDENTIAL_DOMAIN}`;
      for (const k of c.placeholderKeyEnv ?? []) env[k] = PLACEHOLDER_KEY;
    }
    return env;
  }

  /** Serves the jail whose init is `pid` (replacing the proxy of an earlier incarnation). */
  async attach(pid: number): Promise<void> {
    this.detach();
    if (!this.hosts) return;
    const listeners = await openJailListeners(pid);
    this.current = new JailEgress(listeners, { hosts: this.hosts, addresses: this.addresses, credentials: this.credentials, resolve: this.resolve, onDecision: this.onDecision });
  }

  detach(): void {
    this.current?.close();
    this.current = undefined;
  }

  /** Read from the jail's namespace, not assumed from the policy. */
  inForce(pid: number): NetworkInForce {
    const read = readNetworkInForce(pid);
    const mode = this.network === 'none' ? 'none' : this.network === 'open' ? 'open' : 'allow';
    const out: NetworkInForce = { mode, ...read };
    if (this.hosts && this.current) {
      out.proxy = `http://127.0.0.1:${PROXY_PORT}`;
      out.dns = `127.0.0.1:${DNS_PORT}`;
    }
    if (typeof this.network === 'object') out.allow = [...this.network.allow];
    if (this.credentials.length) out.credentials = this.credentials.map((c) => c.name);
    if (this.addresses.allowAddresses.length) out.allowAddresses = [...this.addresses.allowAddresses];
    return out;
  }
}

/** The host-wide part: the admin's address exceptions and the resolver, shared by a driver's sandboxes. */
export class EgressSettings {
  readonly addresses: AddressPolicy;
  readonly resolve: (host: string) => Promise<string[]>;

  constructor(options: EgressOptions = {}) {
    this.addresses = new AddressPolicy(options.allowAddresses ?? []);
    this.resolve = options.resolve ?? (async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
  }
}

let resolvConf: string | undefined;

/**
 * A resolv.conf naming the jail's own DNS server; one file for every jail (it never changes). Its
 * folder goes when the process exits: a jail that outlives it keeps the file it bound.
 */
export function jailResolvConf(): string {
  if (!resolvConf) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'codeagent-egress-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    resolvConf = path.join(dir, 'resolv.conf');
    writeFileSync(resolvConf, `# the jail's DNS: answers only names its network policy allows\nnameserver 127.0.0.1\noptions attempts:1 timeout:2\n`, { mode: 0o644 });
  }
  return resolvConf;
}
