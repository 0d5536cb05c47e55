import { envBool, envInt, loadEnv } from '@codeagent/config';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';

/** `10.0.0.0/8,fd00::/8`: address ranges (CIDR) as a list; an empty value is no range. */
const cidrList = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const list = s.split(',').map((x) => x.trim()).filter(Boolean);
    for (const c of list) {
      const [addr, bits, extra] = c.split('/');
      const family = isIP(addr ?? '');
      const max = family === 6 ? 128 : 32;
      if (!family || extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
        ctx.addIssue({ code: 'custom', message: `"${c}" is not an address range in CIDR form (e.g. 10.1.2.0/24, fd00::/8)` });
      }
    }
    return list;
  });

const HOST_NAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/;

/**
 * `mirror.internal=10.1.2.3,pypi.internal=10.1.2.4`: names and the addresses the egress proxy uses for
 * them; a name given twice has both addresses. Empty: no entry.
 */
const hostsMap = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const map: Record<string, string[]> = {};
    for (const pair of s.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [rawName, address, extra] = pair.split('=').map((x) => x.trim());
      const name = (rawName ?? '').toLowerCase().replace(/\.$/, '');
      if (extra !== undefined || !HOST_NAME.test(name) || !isIP(address ?? '')) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not name=address (e.g. mirror.internal=10.1.2.3)` });
        continue;
      }
      (map[name] ??= []).push(address!);
    }
    return map;
  });

const optionalInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

/**
 * The shell service's environment, parsed once at start. Its INSTANCE_ID defaults to one per host
 * (not per process, as other services'): the next start must be the same replica to adopt the jails
 * this one kept. A second shell replica on one host needs an INSTANCE_ID of its own.
 */
export const loadServiceEnv = (env: NodeJS.ProcessEnv = process.env) =>
  loadEnv(
    {
      /** Port of this service's /health and /metrics (0 picks a free one). */
      SHELL_PORT: envInt(8083, 0, 65535),
      /** Jails one replica holds at once; shell.open beyond it is refused with LIMIT_REACHED. */
      SHELL_MAX_SESSIONS: envInt(32, 1, 10_000),
      /**
       * Largest output event of a session log: output queued while the broker confirms is merged up to
       * this size. Each message costs every hop (publish, confirm, routing, two consumers, a row) about
       * the same whatever its size: 1 MiB moved 10-30% more output per second than 256 KiB here.
       */
      SHELL_OUTPUT_CHUNK_BYTES: envInt(1024 * 1024, 1024, 16 * 1024 * 1024),
      /** A session's events awaiting the broker's confirm at once (in order on one channel); 1 waits for each confirm. */
      SHELL_OUTPUT_IN_FLIGHT: envInt(8, 1, 1024),
      /** Output waiting for the broker beyond which the command is paused (its pipe fills). */
      SHELL_OUTPUT_HIGH_WATER_BYTES: envInt(16 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
      /** Cap of stdout and of stderr each in a shell.exec reply (the output events carry everything). */
      SHELL_RESULT_MAX_BYTES: envInt(1024 * 1024, 1024, 64 * 1024 * 1024),
      /** Default memory limit of a jail in MiB when shell.open gives none (unset: the driver's default). */
      SHELL_DEFAULT_MEMORY_MB: optionalInt(16, 1_048_576),
      /** Default process limit of a jail (unset: the driver's default). */
      SHELL_DEFAULT_PIDS: optionalInt(8, 1_000_000),
      /** Default CPU-time limit in seconds (unset: the driver's default). */
      SHELL_DEFAULT_CPU_SECONDS: optionalInt(1, 31_536_000),
      /** Whether `driver: "docker"` may be used at all (it still needs an engine that answers). */
      SHELL_DOCKER_ENABLED: envBool(true),
      /** Image of docker sessions whose shell.open names none. */
      SHELL_DOCKER_IMAGE: z.string().min(1).default('debian:bookworm-slim'),
      /** Built project images (Dockerfile and devcontainer builds) kept on the engine, in MiB; the least recently used beyond it are removed after a build. */
      SHELL_DOCKER_IMAGE_CACHE_MB: envInt(10_240, 0, 10_485_760),
      /** Network of the RUN steps when a project's Dockerfile is built (unset: the engine's default). */
      SHELL_DOCKER_BUILD_NETWORK: z.string().min(1).optional(),
      /**
       * Address ranges (CIDR, comma-separated) jails may reach through the egress proxy although they are
       * private, loopback or link-local, e.g. an internal package mirror. Default: none. Never name the
       * platform's own services (broker, database, gateway) here.
       */
      SHELL_EGRESS_ALLOW_ADDRESSES: cidrList,
      /**
       * Names the egress proxy (and the jails' DNS) resolves to fixed addresses, before and instead of
       * the host's resolver: `name=address` pairs, comma-separated. For air-gapped mirrors and for tests
       * that point names at test hosts. Only where a jail's policy allows a name is it looked up at all;
       * the address policy still applies (a private address needs SHELL_EGRESS_ALLOW_ADDRESSES too).
       */
      SHELL_EGRESS_HOSTS: hostsMap,
      /** When true, names not in SHELL_EGRESS_HOSTS do not resolve: the host's resolver is never asked (air-gapped hosts, tests). */
      SHELL_EGRESS_HOSTS_ONLY: envBool(false),
      /** Typing in a session's terminal is published (shell.terminal.active, which keeps it from being closed as idle) at most once per this window. */
      SHELL_TERMINAL_ACTIVITY_MS: envInt(10_000, 100, 3_600_000),
      /** Refused egress is published per session at most once per host, port and way in this window (repeats are counted). */
      SHELL_EGRESS_DENIED_WINDOW_MS: envInt(10_000, 100, 3_600_000),
      /** Distinct refused-egress events per session and window; beyond it they are summed up in one event. */
      SHELL_EGRESS_DENIED_MAX_EVENTS: envInt(20, 1, 10_000),
      /**
       * On a graceful stop (SIGTERM, Ctrl-C: an upgrade), leave the jails running for the next start of
       * this replica, which adopts them: same INSTANCE_ID and DATA_DIR (docs/operations.md). false:
       * close every jail on stop, as a replica that will not come back should (those the run before
       * kept are adopted all the same, and closed with the others).
       */
      SHELL_KEEP_JAILS: envBool(true),
      /**
       * Jails started ahead of demand for sessions with no network, no credentials and no rlimits (the
       * common shape): opening one is then an assignment (docs/operations.md). 0: none. Each idle one
       * costs about 1 MiB of memory and a bash.
       */
      SHELL_POOL_SIZE: envInt(4, 0, 1000),
      /** Seals outside agents' env and kept sessions' state (64 hex chars or 32 bytes base64); unset: DATA_DIR/shell/secret.key, made on first start. */
      SHELL_SECRET_KEY: z.string().min(1).optional(),
      /** The Docker engine (`unix:///var/run/docker.sock` when unset), as the docker CLI reads it. */
      DOCKER_HOST: z.string().optional(),
    },
    { INSTANCE_ID: `${hostname()}-shell`, ...env },
  );
export type ServiceEnv = ReturnType<typeof loadServiceEnv>;
