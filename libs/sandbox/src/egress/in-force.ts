import { readFileSync } from 'node:fs';

/**
 * The interfaces and non-loopback routes of the network namespace `pid` lives in, read from its
 * /proc files as the kernel reports them. A jail whose namespace lists only `lo` and no route cannot
 * send a packet anywhere but to itself.
 */
export function readNetworkInForce(pid: number): { interfaces: string[]; routes: number } {
  const read = (f: string): string[] => {
    try {
      return readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  // net/dev: two header lines, then "  name: counters...".
  const interfaces = read('dev').slice(2).map((l) => l.split(':')[0]!.trim());
  // net/route: a header line, then "Iface Destination ..."; ipv6_route: the interface is the last column.
  const v4 = read('route').slice(1).map((l) => l.split('\t')[0]!.trim());
  const v6 = read('ipv6_route').map((l) => l.trim().split(/\s+/).pop() ?? '');
  const routes = [...v4, ...v6].filter((i) => i && i !== 'lo').length;
  return { interfaces, routes };
}
