import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';

/**
 * A host for network tests that the test makes itself: a network namespace of its own joined to this
 * one by a veth pair on a /30 of 10.250.0.0/16 (nothing real lives there; the route is only the
 * veth's). Tests send traffic only to it and to loopback, never to a real private or public address.
 *
 * It serves, from inside its namespace:
 * - HTTP on :80: `GET /seen` lists the requests received so far (method, path, headers); `GET
 *   /bytes?n=N` streams N bytes; anything else answers `{host, path}` and records the request.
 * - TCP on :7000: the server speaks first (`hello from the test host\n`), then echoes.
 * - TCP on :443: records (in `/seen`, method `TLS`) the first bytes it gets, a ClientHello, and answers `got N bytes`.
 */
export interface TestHost {
  /** The namespace's name (for `ip netns exec`). */
  ns: string;
  /** The test host's address, e.g. 10.250.17.6. */
  address: string;
  /** The /30 both ends live in, e.g. 10.250.17.4/30 (an admin's `allowAddresses` entry). */
  cidr: string;
  /** Requests the HTTP server received, read over the veth from outside. */
  seen(): Promise<{ method: string; path: string; headers: Record<string, string> }[]>;
  close(): void;
}

const SERVER = `
const http = require('node:http'), net = require('node:net');
const seen = [];
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/seen') { res.setHeader('content-type', 'application/json'); return res.end(JSON.stringify(seen)); }
  seen.push({ method: req.method, path: req.url, headers: req.headers });
  if (u.pathname === '/bytes') {
    let left = Number(u.searchParams.get('n') || 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
    const chunk = Buffer.alloc(256 * 1024, 97);
    const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump); } res.end(); };
    return pump();
  }
  req.resume();
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ host: req.headers.host, path: req.url })); });
}).listen(80, '0.0.0.0', () => {
  net.createServer((s) => { s.write('hello from the test host\\n'); s.pipe(s); s.on('error', () => {}); }).listen(7000, '0.0.0.0', () => {
    net.createServer((s) => { s.once('data', (d) => { seen.push({ method: 'TLS', path: '', headers: {}, bytes: d.length }); s.end('got ' + d.length + ' bytes\\n'); }); s.on('error', () => {}); }).listen(443, '0.0.0.0', () => console.log('ready'));
  });
});
`;

const run = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

export async function startTestHost(): Promise<TestHost> {
  // A /30 at a random place, so that test files running at once do not collide.
  const block = randomInt(0, 1 << 14) * 4;
  const prefix = `10.250.${block >> 8}`;
  const low = block & 255;
  const base = `${prefix}.${low}`;
  const outside = `${prefix}.${low + 1}`;
  const inside = `${prefix}.${low + 2}`;
  const tag = `${process.pid.toString(36)}${randomInt(0, 1 << 20).toString(36)}`.slice(-8);
  const ns = `cath-${tag}`;
  const vOut = `cao${tag}`;
  const vIn = `cai${tag}`;
  let server: ChildProcess | undefined;
  const close = (): void => {
    server?.kill('SIGKILL');
    try {
      run('netns', 'del', ns); // takes the veth pair with it
    } catch {
      /* already gone */
    }
  };
  try {
    run('netns', 'add', ns);
    run('link', 'add', vOut, 'type', 'veth', 'peer', 'name', vIn);
    run('link', 'set', vIn, 'netns', ns);
    run('addr', 'add', `${outside}/30`, 'dev', vOut);
    run('link', 'set', vOut, 'up');
    run('-n', ns, 'addr', 'add', `${inside}/30`, 'dev', vIn);
    run('-n', ns, 'link', 'set', vIn, 'up');
    run('-n', ns, 'link', 'set', 'lo', 'up');
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the test host did not start within 10 s')), 10_000);
      server!.stdout!.once('data', () => (clearTimeout(timer), resolve()));
      server!.once('exit', (code) => (clearTimeout(timer), reject(new Error(`the test host exited with ${code}`))));
    });
  } catch (err) {
    close();
    throw err;
  }
  return {
    ns,
    address: inside,
    cidr: `${base}/30`,
    seen: async () => (await (await fetch(`http://${inside}/seen`)).json()) as Awaited<ReturnType<TestHost['seen']>>,
    close,
  };
}
