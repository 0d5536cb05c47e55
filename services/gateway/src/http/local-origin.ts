import type { IncomingHttpHeaders } from 'node:http';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function hostnameOf(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Local mode needs no credentials, so a web page of another site must not be able to drive it from
 * the user's browser: a request that carries an Origin must come from a loopback page, and the Host
 * must be a loopback name (a DNS-rebound name would be the attacker's, with or without an Origin).
 * Programs (curl, the CLI, socket.io-client under Node) send no Origin and a loopback Host.
 * Returns why the request is refused, or undefined when it may go on.
 */
export function localRequestRefusal(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host;
  const hostname = host ? hostnameOf(host) : undefined;
  if (host !== undefined && (hostname === undefined || !LOOPBACK_HOSTS.has(hostname))) {
    return `local mode answers requests addressed to 127.0.0.1 or localhost only, not to "${host}"`;
  }
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).hostname;
  } catch {
    originHost = undefined;
  }
  if (originHost === undefined || !LOOPBACK_HOSTS.has(originHost)) {
    return `local mode needs no credentials, so it refuses requests from web pages of other sites (Origin "${origin}"); run in team mode to serve them`;
  }
  return undefined;
}
