import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { prom } from '@codeagent/telemetry';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A service's own small HTTP server: `/health` (200 or 503 with its checks) and `/metrics`
 * (Prometheus text). Bound to loopback unless told otherwise: it is for probes and scrapers.
 */
export async function startOpsServer(opts: {
  host: string;
  port: number;
  health: () => Promise<{ ok: boolean; body: Record<string, unknown> }>;
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/problem+json', JSON.stringify({ title: 'Method not allowed', status: 405 }));
    if (url === '/health') {
      opts.health().then(
        (h) => send(h.ok ? 200 : 503, 'application/json', JSON.stringify(h.body)),
        (err: Error) => send(503, 'application/json', JSON.stringify({ status: 'down', error: err.message })),
      );
      return;
    }
    if (url === '/metrics') {
      prom.register.metrics().then(
        (text) => send(200, prom.register.contentType, text),
        (err: Error) => send(500, 'text/plain', err.message),
      );
      return;
    }
    send(404, 'application/problem+json', JSON.stringify({ title: 'Not found', status: 404, detail: `${url} is not served here; try /health or /metrics` }));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
