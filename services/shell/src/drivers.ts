import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { BubblewrapDriver, DockerDriver, type EgressOptions, type SandboxDriver } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import type { ServiceEnv } from './env';

/**
 * How the jails' egress proxy resolves names: SHELL_EGRESS_HOSTS first, then (unless
 * SHELL_EGRESS_HOSTS_ONLY) the host's resolver. Undefined when neither is set: the driver's default.
 */
export function egressResolver(hosts: Record<string, string[]>, only: boolean): EgressOptions['resolve'] {
  if (!only && Object.keys(hosts).length === 0) return undefined;
  return async (host) => {
    const fixed = hosts[host.toLowerCase().replace(/\.$/, '')];
    if (fixed) return [...fixed];
    if (only) throw Object.assign(new Error(`${host} is not in SHELL_EGRESS_HOSTS`), { code: 'ENOTFOUND' });
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  };
}

/**
 * The Bubblewrap driver with the admin's host-wide egress policy, which applies to every jail this
 * replica opens; with SHELL_KEEP_JAILS its jails outlive the process, for the next start to adopt;
 * with SHELL_POOL_SIZE it keeps that many started ahead.
 */
export function bubblewrapDriver(env: ServiceEnv, log?: Logger): BubblewrapDriver {
  const resolve = egressResolver(env.SHELL_EGRESS_HOSTS, env.SHELL_EGRESS_HOSTS_ONLY);
  return new BubblewrapDriver({
    egress: { allowAddresses: env.SHELL_EGRESS_ALLOW_ADDRESSES, ...(resolve ? { resolve } : {}) },
    ...(env.SHELL_KEEP_JAILS ? { jailsDir: keptDir(env, 'jails') } : {}),
    ...(env.SHELL_POOL_SIZE > 0 ? { pool: { size: env.SHELL_POOL_SIZE, onError: (err: Error) => log?.warn({ err: err.message }, 'a pooled jail could not be started') } } : {}),
  });
}

/** This replica's own folder of kept jails (`jails`) and of their sessions' state (`sessions`). */
export function keptDir(env: ServiceEnv, what: 'jails' | 'sessions'): string {
  return path.join(env.DATA_DIR, 'shell', env.INSTANCE_ID, what);
}

/** Every driver this replica offers, as its environment configures them. */
export function shellDrivers(env: ServiceEnv, log?: Logger): { bubblewrap: SandboxDriver; docker?: SandboxDriver } {
  const drivers: { bubblewrap: SandboxDriver; docker?: SandboxDriver } = { bubblewrap: bubblewrapDriver(env, log) };
  if (env.SHELL_DOCKER_ENABLED) drivers.docker = new DockerDriver({ dockerHost: env.DOCKER_HOST, defaultImage: env.SHELL_DOCKER_IMAGE, buildNetwork: env.SHELL_DOCKER_BUILD_NETWORK, imageCacheMb: env.SHELL_DOCKER_IMAGE_CACHE_MB });
  return drivers;
}
