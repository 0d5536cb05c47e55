import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
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
    ...(env.SHELL_KEEP_JAILS ? { jailsDir: hostStateDir(env, 'jails') } : {}),
    ...(env.SHELL_POOL_SIZE > 0 ? { pool: { size: env.SHELL_POOL_SIZE, onError: (err: Error) => log?.warn({ err: err.message }, 'a pooled jail could not be started') } } : {}),
  });
}

/** This replica's own folder of its kept sessions' state, which the next start adopts them from. */
export function keptDir(env: ServiceEnv): string {
  return path.join(env.DATA_DIR, 'shell', env.INSTANCE_ID, 'sessions');
}

/**
 * Where this replica's jails (or containers) keep their shell's pipes and its state, written after
 * commands: in memory (/dev/shm) where the host has it, so that the write costs no disk; one folder per
 * replica and data folder. A reboot empties it, and ends the jails with it: the kept sessions' copies remain.
 */
export function hostStateDir(env: ServiceEnv, kind: 'jails' | 'containers'): string {
  const name = `codeagent-${kind}-${createHash('sha256').update(`${path.resolve(env.DATA_DIR)}\0${env.INSTANCE_ID}`).digest('hex').slice(0, 16)}`;
  return existsSync('/dev/shm') ? path.join('/dev/shm', name) : path.join(env.DATA_DIR, 'shell', env.INSTANCE_ID, kind);
}

/** Every driver this replica offers, as its environment configures them. */
export function shellDrivers(env: ServiceEnv, log?: Logger): { bubblewrap: SandboxDriver; docker?: SandboxDriver } {
  const drivers: { bubblewrap: SandboxDriver; docker?: SandboxDriver } = { bubblewrap: bubblewrapDriver(env, log) };
  if (env.SHELL_DOCKER_ENABLED) {
    drivers.docker = new DockerDriver({
      dockerHost: env.DOCKER_HOST,
      defaultImage: env.SHELL_DOCKER_IMAGE,
      buildNetwork: env.SHELL_DOCKER_BUILD_NETWORK,
      imageCacheMb: env.SHELL_DOCKER_IMAGE_CACHE_MB,
      ...(env.SHELL_KEEP_JAILS ? { containersDir: hostStateDir(env, 'containers') } : {}),
    });
  }
  return drivers;
}
