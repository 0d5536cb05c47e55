import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * A free TCP port on loopback for a server a test starts later. It lies below the kernel's ephemeral
 * range: a port bound and released by the kernel's pick (port 0) is one that any outgoing connection
 * made meanwhile (a service starting beside the test, connecting to the broker) can take, and the
 * server then fails to bind it.
 */
export function freePort(): Promise<number> {
  return freePortBlock(1);
}

/**
 * The first of `size` consecutive free loopback ports, for code that listens on `base + index` (the
 * project CIs). The block lies below the kernel's ephemeral range, so no outgoing connection of a
 * parallel test can hold one of its ports, and each jest worker draws from its own stripe of blocks,
 * so two test files running at once never pick the same block.
 */
export async function freePortBlock(size: number): Promise<number> {
  const first = 10_000;
  const last = ephemeralLow() - 1;
  const blocks = Math.floor((last - first + 1) / size);
  const stripes = 16;
  const worker = Number(process.env.JEST_WORKER_ID ?? 0) % stripes;
  const perStripe = Math.floor(blocks / stripes);
  if (perStripe < 1) throw new Error(`no room for a block of ${size} ports between ${first} and ${last}`);
  for (let attempt = 0; attempt < 30; attempt++) {
    const base = first + (worker + stripes * Math.floor(Math.random() * perStripe)) * size;
    if (await allFree(base, size)) return base;
  }
  throw new Error(`no free block of ${size} ports found between ${first} and ${last}`);
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

async function allFree(base: number, size: number): Promise<boolean> {
  for (let port = base; port < base + size; port++) if (!(await canListen(port))) return false;
  return true;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
