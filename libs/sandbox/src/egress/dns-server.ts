import type { Socket as UdpSocket, RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import type { EgressContext } from './proxy';
import { normaliseHost } from './policy';

const TTL_SECONDS = 30;

/**
 * The jail's DNS server (its /etc/resolv.conf points here): names the policy allows resolve to the
 * addresses the proxy would connect to (loopback, private and link-local ones left out); every other
 * name is NXDOMAIN and a refused egress decision. Answers only A and AAAA; other types are empty.
 */
export function serveDns(socket: UdpSocket, ctx: EgressContext): void {
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    void answer(msg, ctx).then((reply) => {
      if (reply) socket.send(reply, from.port, from.address, () => undefined);
    });
  });
  socket.on('error', () => undefined);
}

async function answer(msg: Buffer, ctx: EgressContext): Promise<Buffer | undefined> {
  let query: Packet;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return undefined; // not DNS: nothing to answer
  }
  const q = query.questions?.[0];
  const reply = (rcode: 'NOERROR' | 'NXDOMAIN' | 'FORMERR', answers: Answer[] = []): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: query.id,
      // RD copied, RA set; the rcode is the low 4 bits.
      flags: ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | rcodeBits(rcode),
      questions: query.questions,
      answers,
    });
  if (!q) return reply('FORMERR');
  const name = normaliseHost(q.name);
  if (!ctx.hosts.mayResolve(name)) {
    ctx.onDecision({ allowed: false, host: name, port: 53, via: 'dns', reason: `${name} is not in the allowlist` });
    return reply('NXDOMAIN');
  }
  let addrs: string[];
  try {
    addrs = isIP(name) ? [name] : await ctx.resolve(name);
  } catch {
    return reply('NXDOMAIN');
  }
  const usable = addrs.filter((a) => !ctx.addresses.refusal(a));
  if (usable.length === 0) {
    const why = addrs.length > 0 ? ctx.addresses.refusal(addrs[0]!) : 'no address';
    ctx.onDecision({ allowed: false, host: name, port: 53, via: 'dns', reason: `${name} resolves to ${why}` });
    return reply('NXDOMAIN');
  }
  const family = q.type === 'AAAA' ? 6 : q.type === 'A' ? 4 : 0;
  const answers: Answer[] = usable
    .filter((a) => isIP(a) === family)
    .map((a) => ({ type: family === 6 ? 'AAAA' : 'A', name: q.name, ttl: TTL_SECONDS, data: a }) as Answer);
  return reply('NOERROR', answers);
}

function rcodeBits(rcode: 'NOERROR' | 'NXDOMAIN' | 'FORMERR'): number {
  return rcode === 'NXDOMAIN' ? 3 : rcode === 'FORMERR' ? 1 : 0;
}
