import type { Bus } from '@codeagent/bus';
import type { ServiceDefinition } from '@codeagent/service';
import type { SandboxDriver, SandboxState } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import type { ServiceEnv } from './env';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@codeagent/contracts';
import { createSecretBox, loadSecretKey } from '@codeagent/config';
import { ExternalAgents } from './agents/agents';
import { keptDir } from './drivers';
import { shellHandlers } from './handlers';
import { TerminalActivity } from './handlers/terminal-activity';
import { JailRegistry } from './jails/registry';
import { StdioProcesses } from './jails/stdio';
import { KeptJails } from './jails/store';
import type { DriverName } from './jails/types';

/**
 * The shell service for runService (its composition root): the registry of its jails on the given drivers
 * (adopting the jails its previous run kept), its handlers, its health checks, and on shutdown keeping
 * every jail for the next start (SHELL_KEEP_JAILS) or closing it. Tests run it in-process with their
 * own env and drivers.
 */
export function shellService(env: ServiceEnv, drivers: Partial<Record<DriverName, SandboxDriver>>): ServiceDefinition<'shell'> {
  return { service: 'shell', env, opsPort: env.SHELL_PORT, start: ({ bus, log }) => startShell(env, drivers, bus, log) };
}

async function startShell(env: ServiceEnv, drivers: Partial<Record<DriverName, SandboxDriver>>, bus: Bus, log: Logger) {
  const secrets = createSecretBox(loadSecretKey(env.SHELL_SECRET_KEY, path.join(env.DATA_DIR, 'shell', 'secret.key'), 'SHELL_SECRET_KEY'));
  // What the run before kept is adopted whatever this run does at its own stop: one that keeps nothing
  // (SHELL_KEEP_JAILS=false, a replica being retired) closes those jails with its own.
  const previous = new KeptJails(keptDir(env), secrets, log.child({ component: 'kept' }));
  const kept = env.SHELL_KEEP_JAILS ? previous : undefined;
  let workspacesMounted: Promise<void> | undefined;
  const registry = new JailRegistry({
    instanceId: env.INSTANCE_ID,
    maxSessions: env.SHELL_MAX_SESSIONS,
    drivers,
    sink: bus,
    log: log.child({ component: 'sessions' }),
    stream: { maxChunkBytes: env.SHELL_OUTPUT_CHUNK_BYTES, highWaterBytes: env.SHELL_OUTPUT_HIGH_WATER_BYTES, maxInFlight: env.SHELL_OUTPUT_IN_FLIGHT },
    maxResultBytes: env.SHELL_RESULT_MAX_BYTES,
    defaultLimits: {
      ...(env.SHELL_DEFAULT_MEMORY_MB !== undefined ? { memoryMb: env.SHELL_DEFAULT_MEMORY_MB } : {}),
      ...(env.SHELL_DEFAULT_PIDS !== undefined ? { pids: env.SHELL_DEFAULT_PIDS } : {}),
      ...(env.SHELL_DEFAULT_CPU_SECONDS !== undefined ? { cpuSeconds: env.SHELL_DEFAULT_CPU_SECONDS } : {}),
    },
    defaultDockerImage: env.SHELL_DOCKER_IMAGE,
    egressDenials: { windowMs: env.SHELL_EGRESS_DENIED_WINDOW_MS, maxEventsPerWindow: env.SHELL_EGRESS_DENIED_MAX_EVENTS },
    ...(kept ? { kept } : {}),
    // Asked once per start, by the first jail that is to be started again.
    workspacesMounted: () => (workspacesMounted ??= workspaceServiceAnswers(bus, log)),
  });
  const stdio = new StdioProcesses(log.child({ component: 'stdio' }));
  // Read once: each kept session's file is opened (decrypted) here.
  const keptSessions = previous.list();
  await removeLeftovers(drivers, keptSessions.map((k) => k.sandbox), log);
  const adopted = await registry.adoptKept(keptSessions, previous);
  const agents = new ExternalAgents(registry, bus, secrets, log.child({ component: 'agents' }));
  // Outside agents went on in their tmux inside the kept jails: they are supervised again.
  for (const sessionId of adopted.alive) {
    await agents.adopt(sessionId).then(
      (names) => names.length && log.info({ sessionId, agents: names }, 'outside agents supervised again'),
      (err: Error) => log.warn({ sessionId, err: err.message }, 'outside agents of an adopted jail not supervised again'),
    );
  }
  // A jail started again for one that was gone: its supervised agents went with it, and start again.
  for (const sessionId of adopted.restored) {
    await agents.startAgain(sessionId).then(
      (names) => names.length && log.info({ sessionId, agents: names }, 'outside agents started again in the new jail'),
      (err: Error) => log.warn({ sessionId, err: err.message }, 'outside agents of a jail started again not started'),
    );
  }
  return {
    handlers: shellHandlers({ registry, stdio, agents, activity: new TerminalActivity(bus, { windowMs: env.SHELL_TERMINAL_ACTIVITY_MS, log }) }),
    checks: async () => {
      const out: Record<string, string> = { sessions: `${registry.size}/${env.SHELL_MAX_SESSIONS}` };
      for (const [name, driver] of Object.entries(drivers)) {
        // A missing engine is not a failure of the service: it reports it and refuses that driver.
        const a = await withTimeout(driver.available(), 2000).catch((err: Error) => ({ ok: false, reason: err.message }));
        out[name] = a.ok ? 'ok' : `unavailable: ${a.reason ?? 'unknown'}`;
      }
      return out;
    },
    // With SHELL_KEEP_JAILS the jails are let go while the bus can still publish what was read and
    // answer the commands in flight. Their outside agents' supervision stops first; the agents go
    // on in their tmux inside the jails, for the next start to supervise.
    ...(kept ? { drain: async () => (await agents.closeAll(), await registry.keepAll()) } : {}),
    // The bus is closed by now, so no shell.closed events: the orchestrator sees service.stopping.
    stop: async () => {
      await agents.closeAll();
      await registry.closeAll({ publish: false });
      await Promise.allSettled(Object.values(drivers).map((d) => d.close?.()));
    },
  };
}

/**
 * Recovery: containers a previous shell process on this host left when it died without closing them
 * (crash, SIGKILL) are removed before this one takes sessions, but those it kept for this replica to
 * adopt; the sessions of the others were failed by the orchestrator's reconciliation, which finds no
 * replica holding them.
 */
async function removeLeftovers(drivers: Partial<Record<DriverName, SandboxDriver>>, kept: SandboxState[], log: Logger): Promise<void> {
  for (const [name, driver] of Object.entries(drivers)) {
    if (!driver.removeLeftovers) continue;
    const a = await withTimeout(driver.available(), 5000).catch(() => ({ ok: false }));
    if (!a.ok) continue;
    const removed = await driver.removeLeftovers(kept).catch((err: Error) => (log.warn({ driver: name, err: err.message }, 'leftover sandboxes not removed'), []));
    if (removed.length) log.info({ driver: name, removed }, 'leftover sandboxes of a dead shell removed');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e as Error)),
    );
  });
}

/** How long a start waits for the workspace service before the jails it would start again fail instead. */
const WORKSPACE_WAIT_MS = 120_000;
const WORKSPACE_RETRY_MS = 500;

/**
 * Resolves once a workspace replica answers. The workspace service mounts every workspace of the host
 * before it answers anything (services/workspace: Lifecycle.recover at its start), and after a reboot
 * nothing else mounts them: a jail started again before that binds the bare folder under the mount
 * point, where the session finds none of its files and what it writes is hidden once the workspace
 * is mounted over it. Rejects after WORKSPACE_WAIT_MS: those sessions are not adopted (the log says
 * why), and the orchestrator fails them.
 */
async function workspaceServiceAnswers(bus: Bus, log: Logger): Promise<void> {
  const until = Date.now() + WORKSPACE_WAIT_MS;
  for (let waiting = false; ; waiting = true) {
    try {
      await bus.request('workspace.ping', {}, { timeoutMs: 2_000 });
      if (waiting) log.info('the workspace service answers: starting the jails that were gone again');
      return;
    } catch (err) {
      if (Date.now() >= until) {
        throw new AppError('SERVICE_UNAVAILABLE', `the workspace service did not answer within ${WORKSPACE_WAIT_MS / 1000} s: a jail that was gone is not started again on a workspace that may not be mounted`);
      }
      if (!waiting) log.info({ reason: (err as Error).message }, 'jails were gone (the host restarted): waiting for the workspace service to mount the workspaces before starting them again');
      await sleep(WORKSPACE_RETRY_MS);
    }
  }
}
