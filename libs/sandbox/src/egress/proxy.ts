import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { connect, isIP, type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EgressCredential, EgressDecision } from '../types';
import type { JailListeners } from './attach';
import { serveDns } from './dns-server';
import type { AddressPolicy, HostPolicy } from './policy';
import { normaliseHost } from './policy';
import { SNIFF_LIMIT, sniff } from './sniff';

/** Names under which the jail reaches a credential: `http://<name>.credentials.internal/...`. */
export const CREDENTIAL_DOMAIN = 'credentials.internal';

export interface EgressContext {
  hosts: HostPolicy;
  addresses: AddressPolicy;
  credentials: EgressCredential[];
  resolve: (host: string) => Promise<string[]>;
  onDecision: (d: EgressDecision) => void;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never forwarded. */
const HOP = new Set(['connection', 'proxy-connection', 'proxy-authorization', 'keep-alive', 'te', 'trailer', 'upgrade']);
const CONNECT_TIMEOUT_MS = 15_000;

/**
 * The egress of one jail, served from outside it on sockets that live in its network namespace: an
 * HTTP proxy (CONNECT tunnels and plain proxied requests, each checked against the allowlist by
 * name and against the address policy after resolving, then connected to the very address checked),
 * the credential routes that add provider keys, and a DNS server that answers only allowed names.
 * Closing it (or the process dying) leaves the jail with no way out: its namespace has no route.
 */
export class JailEgress {
  private readonly server: http.Server;
  private readonly sockets = new Set<Duplex>();
  private closed = false;

  constructor(
    private readonly listeners: JailListeners,
    private readonly ctx: EgressContext,
  ) {
    this.server = http.createServer({ requestTimeout: 0 }, (req, res) => void this.onRequest(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onConnect(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
    listeners.proxy.on('connection', (s: Socket) => {
      this.track(s);
      this.server.emit('connection', s);
      s.resume();
    });
    serveDns(listeners.dns, ctx);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.proxy.close();
    try {
      this.listeners.dns.close();
    } catch {
      /* already closed */
    }
    for (const s of this.sockets) s.destroy();
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private decide(d: EgressDecision): void {
    this.ctx.onDecision(d);
  }

  /** Resolves `host` and returns the first address the policy lets through, or why none is. */
  private async pick(host: string): Promise<{ address: string } | { refusal: string }> {
    let addrs: string[];
    try {
      addrs = isIP(host) ? [host] : await this.ctx.resolve(host);
    } catch (err) {
      return { refusal: `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    let refusal = `${host} has no address`;
    for (const a of addrs) {
      const why = this.ctx.addresses.refusal(a);
      if (!why) return { address: a };
      refusal = `${host} resolves to ${why}`;
    }
    return { refusal };
  }

  private async onConnect(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.track(client);
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    if (!target) return refuseTunnel(client, 400, `CONNECT needs host:port, got "${req.url}"`);
    const { host, port } = target;
    const deny = (reason: string, status = 403): void => {
      this.decide({ allowed: false, host, port, via: 'connect', reason });
      refuseTunnel(client, status, reason);
    };
    const byName = this.ctx.hosts.refusal(host, port);
    if (byName) return deny(byName);
    const picked = await this.pick(host);
    if ('refusal' in picked) return deny(picked.refusal);
    const upstream = connect({ host: picked.address, port, timeout: CONNECT_TIMEOUT_MS });
    this.track(upstream);
    let established = false;
    upstream.on('error', (err) => {
      if (!established) refuseTunnel(client, 502, `could not connect to ${host}:${port}: ${err.message}`);
      else client.destroy();
    });
    upstream.once('timeout', () => upstream.destroy(new Error('timed out')));
    upstream.once('connect', () => {
      established = true;
      upstream.setTimeout(0);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      // Bytes from the server flow at once (protocols where the server speaks first); the client's
      // first bytes are held until they show they are for the same host.
      upstream.pipe(client);
      let first = head;
      const inspect = (chunk?: Buffer): void => {
        if (chunk) first = Buffer.concat([first, chunk]);
        const s = sniff(first);
        if (s.kind === 'need-more' && first.length < SNIFF_LIMIT) return;
        client.off('data', inspect);
        const why =
          s.kind === 'http'
            ? 'plain HTTP through a tunnel is refused (send it as a proxy request, so every request is checked)'
            : s.kind === 'tls' && s.serverName && normaliseHost(s.serverName) !== host
              ? `the TLS server name ${s.serverName} is not the tunnel's host ${host}`
              : undefined;
        if (why) {
          this.decide({ allowed: false, host: s.kind === 'tls' && s.serverName ? s.serverName : host, port, via: 'connect', reason: why });
          upstream.destroy();
          client.destroy();
          return;
        }
        this.decide({ allowed: true, host, port, via: 'connect' });
        upstream.write(first);
        client.pipe(upstream);
      };
      client.on('data', inspect);
      if (first.length > 0) inspect();
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', () => res.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return problem(res, 400, 'this is the egress proxy: send absolute-form requests (http://host/path) or CONNECT');
    }
    if (url.protocol !== 'http:') return problem(res, 400, `only http:// is proxied as a request; use CONNECT for ${url.protocol}`);
    const host = normaliseHost(url.hostname);
    const port = Number(url.port || 80);
    if (host.endsWith('.' + CREDENTIAL_DOMAIN)) return this.credentialRequest(host, url, req, res);
    const deny = (reason: string): void => {
      this.decide({ allowed: false, host, port, via: 'http', reason });
      problem(res, 403, reason);
    };
    const hostHeader = normaliseHost((req.headers.host ?? host).replace(/:\d+$/, ''));
    if (hostHeader !== host) return deny(`the Host header ${hostHeader} is not the request's host ${host}`);
    const byName = this.ctx.hosts.refusal(host, port);
    if (byName) return deny(byName);
    const picked = await this.pick(host);
    if ('refusal' in picked) return deny(picked.refusal);
    this.decide({ allowed: true, host, port, via: 'http' });
    this.forward(req, res, http, { host: url.hostname, port, path: url.pathname + url.search, address: picked.address, headers: forwardHeaders(req, {}) });
  }

  /** A provider's API with its key added here, outside the jail (which only ever has a placeholder). */
  private async credentialRequest(host: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const name = host.slice(0, -(CREDENTIAL_DOMAIN.length + 1));
    const cred = this.ctx.credentials.find((c) => c.name === name);
    const deny = (status: number, reason: string): void => {
      this.decide({ allowed: false, host, port: 80, via: 'credential', reason });
      problem(res, status, reason);
    };
    if (!cred) return deny(404, `no credential named ${name} in this session (it has: ${this.ctx.credentials.map((c) => c.name).join(', ') || 'none'})`);
    const up = new URL(cred.upstream);
    const picked = await this.pick(normaliseHost(up.hostname));
    if ('refusal' in picked) return deny(403, picked.refusal);
    this.decide({ allowed: true, host, port: 80, via: 'credential' });
    const path = up.pathname.replace(/\/$/, '') + url.pathname + url.search;
    const port = Number(up.port || (up.protocol === 'https:' ? 443 : 80));
    const headers = forwardHeaders(req, cred.headers);
    this.forward(req, res, up.protocol === 'https:' ? https : http, { host: up.hostname, port, path, address: picked.address, headers });
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    mod: typeof http | typeof https,
    to: { host: string; port: number; path: string; address: string; headers: http.OutgoingHttpHeaders },
  ): void {
    // The connection goes to the address that was checked: no second lookup a rebinding DNS could answer differently.
    const lookup: LookupFunction = (_h, opts, cb) => {
      const family = isIP(to.address);
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: to.address, family }]);
      else cb(null, to.address, family);
    };
    const upstream = mod.request({ host: to.host, port: to.port, path: to.path, method: req.method, headers: { ...to.headers, host: to.port === 80 || to.port === 443 ? to.host : `${to.host}:${to.port}` }, lookup, timeout: CONNECT_TIMEOUT_MS, agent: false });
    upstream.on('response', (r) => {
      upstream.setTimeout(0);
      const headers = { ...r.headers };
      for (const h of HOP) delete headers[h];
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('timed out')));
    upstream.on('error', (err) => (res.headersSent ? res.destroy() : problem(res, 502, `could not reach ${to.host}:${to.port}: ${err.message}`)));
    req.pipe(upstream);
  }
}

function forwardHeaders(req: IncomingMessage, add: Record<string, string>): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const replaced = new Set(Object.keys(add).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(req.headers)) {
    if (HOP.has(k) || k === 'host' || replaced.has(k) || v === undefined) continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(add)) out[k.toLowerCase()] = v;
  return out;
}

/** `host:port` or `[v6]:port`. */
function parseAuthority(text: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]/\s]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: normaliseHost(m[1]!), port };
}

function refuseTunnel(client: Duplex, status: number, reason: string): void {
  if (client.destroyed) return;
  const body = `${reason}\n`;
  const text = status === 403 ? 'Forbidden' : status === 502 ? 'Bad Gateway' : 'Bad Request';
  client.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nx-codeagent-egress: refused\r\n\r\n${body}`);
}

function problem(res: ServerResponse, status: number, detail: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ type: 'about:blank', title: 'egress refused', status, detail });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'x-codeagent-egress': 'refused', connection: 'close' });
  res.end(body);
}
