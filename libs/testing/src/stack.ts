import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceNames, type ServiceName } from '@codeagent/contracts';
import { createTestBroker, TEST_BUS_SECRET, type TestBroker } from './broker';
import { freePort, freePortBlock } from './ports';
import { REPO_ROOT, spawnJs, spawnTs, type ServiceProcess } from './processes';
import { waitFor } from './wait';

export interface Stack {
  /** The gateway, e.g. http://127.0.0.1:41234. */
  url: string;
  broker: TestBroker;
  dataDir: string;
  env: Record<string, string>;
  procs: Map<string, ServiceProcess>;
  /**
   * The /health and /metrics port a process (by its name in `procs`) said it serves, from its
   * "service started" log line (needs LOG_LEVEL info or lower); the gateway has one only with
   * GATEWAY_OPS_PORT. Every service's is a free port of its own (`<SERVICE>_PORT=0`).
   */
  opsPort(name: string): number | undefined;
  /**
   * The port the gateway's SSH server listens on, from its "ssh server listening" log line: start the
   * stack with GATEWAY_SSH_PORT=0 and read it here: a port picked beforehand can still be taken by
   * something else before the gateway binds it, and the gateway then runs without SSH.
   */
  sshPort(): number | undefined;
  /** The INSTANCE_ID a process of the stack (by its name in `procs`) runs with. */
  instanceId(name: string): string;
  /** Starts one more replica (or a replacement) of a service with the stack's environment. */
  startReplica(service: ServiceName, name: string): Promise<ServiceProcess>;
  /** SIGTERM to every service, then removes the vhost and the data folder. */
  stop(): Promise<void>;
}

/**
 * The whole platform as separate processes, as `npm start` runs it, in a RabbitMQ vhost and a data
 * folder of its own (and, with `databaseUrl`, on PostgreSQL). Resolves when the gateway's /health
 * says every service answers.
 */
export async function startStack(
  opts: {
    env?: Record<string, string>;
    databaseUrl?: string;
    label?: string;
    /** A data folder to start from (a restored backup); removed on stop like one of its own. */
    dataDir?: string;
    /** Runs each service's compiled build (services/<name>/dist/main.js, `npm run build`) instead of its sources through tsx. */
    fromBuild?: boolean;
  } = {},
): Promise<Stack> {
  const broker = await createTestBroker(opts.label ?? 'stack');
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'codeagent-stack-'));
  const gatewayPort = await freePort();
  const env: Record<string, string> = {
    RABBITMQ_URL: broker.url,
    CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
    DATA_DIR: dataDir,
    GATEWAY_PORT: String(gatewayPort),
    // A free port each: stacks running side by side do not contend for SSH's default 2222.
    GATEWAY_SSH_PORT: '0',
    ORCHESTRATOR_PORT: '0',
    WORKSPACE_PORT: '0',
    SHELL_PORT: '0',
    ANALYTICS_PORT: '0',
    PROJECT_CI_PORT: '0',
    PROJECT_CI_PORT_BASE: String(await freePortBlock(100)),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    // A stack's data folder goes with it: jails kept for a next start would be left behind. Tests of a
    // restart ask for them (opts.env).
    SHELL_KEEP_JAILS: 'false',
    // Likewise the workspaces' mounts, which a deployment keeps across a stop for the kept jails.
    WORKSPACE_UNMOUNT_ON_STOP: 'true',
    // Jails started ahead are the restart and benchmark stacks' to ask for: others start none.
    SHELL_POOL_SIZE: '0',
    // The same for whole sessions made ahead (the orchestrator's warm pool).
    ORCHESTRATOR_POOL_SIZE: '0',
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  };
  const procs = new Map<string, ServiceProcess>();
  const instanceId = (name: string) => `${name}-${process.pid}`;
  const start = async (service: ServiceName, name: string) => {
    const instance = { ...env, INSTANCE_ID: instanceId(name) };
    const p = opts.fromBuild ? spawnJs(`services/${service}/dist/main.js`, instance) : spawnTs(`services/${service}/src/main.ts`, instance);
    procs.set(name, p);
    return p;
  };
  for (const s of ServiceNames) await start(s, s);
  const url = `http://127.0.0.1:${gatewayPort}`;
  const stop = async () => {
    await Promise.all([...procs.values()].map((p) => p.stop('SIGTERM', 20_000)));
    // For a failure to be read afterwards: TEST_STACK_LOGS=<folder> keeps each process's output there.
    const keep = process.env.TEST_STACK_LOGS;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      for (const [name, p] of procs) writeFileSync(path.join(keep, `${opts.label ?? 'stack'}-${process.pid}-${name}.log`), p.output());
    }
    await broker.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'every service to answer the gateway’s /health',
      async () => {
        for (const [name, p] of procs) if (p.child.exitCode !== null) throw new Error(`${name} exited: ${p.output().slice(-3000)}`);
        const res = await fetch(`${url}/health`);
        return res.status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  } catch (err) {
    const logs = [...procs].map(([n, p]) => `--- ${n}\n${p.output().slice(-1500)}`).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  /** A port a process logged: `field` of its first log line whose message is `msg`. */
  const loggedPort = (name: string, msg: string, field: string) => {
    for (const line of procs.get(name)?.stdout().split('\n') ?? []) {
      if (!line.includes(`"${msg}"`)) continue;
      try {
        const port = (JSON.parse(line) as Record<string, unknown>)[field];
        if (typeof port === 'number') return port;
      } catch {
        // not a JSON line
      }
    }
    return undefined;
  };
  const opsPort = (name: string) => loggedPort(name, 'service started', 'opsPort');
  const sshPort = () => loggedPort('gateway', 'ssh server listening', 'port');
  return { url, broker, dataDir, env, procs, opsPort, sshPort, instanceId, startReplica: start, stop };
}

/**
 * A user and an API key, made by the gateway's own admin tool in the store the stack's running gateway
 * reads (team mode): how a test gets its first admin, as an operator would.
 */
export function createUser(stack: Pick<Stack, 'env'>, name: string, role?: 'admin' | 'member'): { user: { id: string }; apiKey: string } {
  const args = ['--import', 'tsx', path.join(REPO_ROOT, 'services/gateway/src/admin.ts'), 'create-user', name, ...(role ? ['--role', role] : [])];
  return JSON.parse(execFileSync(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...stack.env }, encoding: 'utf8' })) as { user: { id: string }; apiKey: string };
}
