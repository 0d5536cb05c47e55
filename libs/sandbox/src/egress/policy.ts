import { BlockList, isIP } from 'node:net';
import os from 'node:os';
import { AppError } from '@codeagent/contracts';
import type { Network } from '../types';

/** One allowlist entry: `name`, `*.name` (strict subdomains) and an optional port. */
interface HostRule {
  name: string;
  wildcard: boolean;
  port?: number;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Parses `pypi.org`, `*.npmjs.org`, `github.com:443`. IP literals may be named exactly (an admin's
 * choice for a mirror), never by wildcard. Throws VALIDATION_FAILED naming the entry.
 */
export function parseHostRule(entry: string): HostRule {
  const bad = (why: string) => new AppError('VALIDATION_FAILED', `allowlist entry "${entry}": ${why}`, { details: { entry } });
  let text = entry.trim().toLowerCase();
  let port: number | undefined;
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (m && !text.startsWith('[') && (m[1] ?? '').split(':').length === 1) {
    port = Number(m[2]);
    text = m[1]!;
    if (port < 1 || port > 65535) throw bad('the port must be 1 to 65535');
  }
  const wildcard = text.startsWith('*.');
  const name = wildcard ? text.slice(2) : text;
  if (isIP(name)) {
    if (wildcard) throw bad('an address cannot have a wildcard');
    return { name, wildcard, port };
  }
  const labels = name.split('.');
  if (name.length > 253 || labels.length < 1 || !labels.every((l) => LABEL.test(l))) throw bad('not a host name (letters, digits, hyphens and dots; `*.` only in front)');
  return { name, wildcard, port };
}

/** Which (host, port) pairs a sandbox may ask the proxy for, by name. */
export class HostPolicy {
  private readonly rules: HostRule[];

  constructor(readonly network: Exclude<Network, 'none'>) {
    this.rules = network === 'open' ? [] : network.allow.map(parseHostRule);
  }

  /** Whether the name (not yet resolved) may be connected to on that port; undefined when it may. */
  refusal(host: string, port: number): string | undefined {
    if (this.network === 'open') return undefined;
    const h = normaliseHost(host);
    const hit = this.rules.some((r) => (r.wildcard ? h.endsWith('.' + r.name) : h === r.name) && (r.port === undefined || r.port === port));
    if (hit) return undefined;
    const nameOnly = this.rules.some((r) => (r.wildcard ? h.endsWith('.' + r.name) : h === r.name));
    return nameOnly ? `port ${port} of ${h} is not in the allowlist` : `${h} is not in the allowlist`;
  }

  /** Whether a DNS name may be resolved at all (any port of it is allowed). */
  mayResolve(host: string): boolean {
    if (this.network === 'open') return true;
    const h = normaliseHost(host);
    return this.rules.some((r) => (r.wildcard ? h.endsWith('.' + r.name) : h === r.name));
  }
}

export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
}

/**
 * Address ranges no sandbox reaches unless an admin names them: this host (its loopback and every
 * address of its interfaces), private, shared (CGNAT), link-local, benchmarking, multicast and
 * reserved ranges, and their IPv6 equivalents (IPv4-mapped and NAT64 forms are checked as IPv4).
 */
const BLOCKED_V4 = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const;
const BLOCKED_V6 = [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['100::', 64]] as const;

export class AddressPolicy {
  private readonly blocked = new BlockList();
  private readonly opened = new BlockList();

  /** `allowAddresses`: CIDRs (or single addresses) an admin opened although they are blocked. */
  constructor(readonly allowAddresses: string[] = []) {
    for (const [a, p] of BLOCKED_V4) this.blocked.addSubnet(a, p, 'ipv4');
    for (const [a, p] of BLOCKED_V6) this.blocked.addSubnet(a, p, 'ipv6');
    for (const list of Object.values(os.networkInterfaces())) {
      for (const i of list ?? []) this.blocked.addAddress(i.address.split('%')[0]!, i.family === 'IPv6' ? 'ipv6' : 'ipv4');
    }
    for (const cidr of allowAddresses) {
      const [addr, bits] = cidr.split('/');
      const type = isIP(addr ?? '') === 6 ? 'ipv6' : isIP(addr ?? '') === 4 ? 'ipv4' : undefined;
      const prefix = bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits);
      if (!type || !Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv6' ? 128 : 32)) {
        throw new AppError('VALIDATION_FAILED', `egress allowAddresses entry "${cidr}" is not an address or CIDR`);
      }
      this.opened.addSubnet(addr!, prefix, type);
    }
  }

  /** Why the address may not be connected to, or undefined when it may. */
  refusal(address: string): string | undefined {
    const v4 = embeddedV4(address);
    const [addr, type] = v4 ? [v4, 'ipv4' as const] : [address, isIP(address) === 6 ? ('ipv6' as const) : ('ipv4' as const)];
    if (isIP(addr) === 0) return `${address} is not an address`;
    if (this.opened.check(addr, type)) return undefined;
    if (!this.blocked.check(addr, type)) return undefined;
    return `${address} is ${describe(addr, type)}`;
  }
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedV4(address: string): string | undefined {
  const a = address.toLowerCase();
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function describe(addr: string, type: 'ipv4' | 'ipv6'): string {
  if ((type === 'ipv4' && addr.startsWith('127.')) || addr === '::1') return 'a loopback address';
  const local = new Set(Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address)));
  if (local.has(addr)) return 'an address of this host';
  if ((type === 'ipv4' && addr.startsWith('169.254.')) || /^fe[89ab]/i.test(addr)) return 'a link-local address';
  return 'a private or reserved address';
}
