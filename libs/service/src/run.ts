import { setFlagsFromString } from 'node:v8';
import { Bus, within } from '@codeagent/bus';
import type { CommandHandlers } from '@codeagent/bus';
import type { CommonEnv } from '@codeagent/config';
import type { PongV1, ServiceName } from '@codeagent/contracts';
import { createLogger, startMetrics, startTracing, stopTracing, type Logger } from '@codeagent/telemetry';
import { startOpsServer, type OpsServer } from './ops-server';

/**
 * A full GC starts when the old generation has grown to this much above what the last one kept
 * (V8's own factor came to ~1.3 here). V8 adds the Buffers allocated since then to that growth until
 * a scavenge frees the dead young ones, and a service passing output on allocates each byte a few
 * times (socket reads, AMQP frames, messages) while making few JS objects, so scavenges are rare: the
 * gateway and the orchestrator ran a full GC, marking their whole heap, every 8 to 16 MiB of output,
 * about a third of the stack's CPU while a command printed (1 to 2 per 64 MiB with 100). The cost: a
 * heap may hold up to twice its live size before it is collected (docs/operations.md).
 */
const HEAP_GROWING_PERCENT = 100;

/** Longest a graceful stop may take before the process gives up and exits 1. */
const STOP_DEADLINE_MS = 60_000;

const VERSION = process.env.npm_package_version ?? '0.1.0';

type PingName<S extends ServiceName> = `${S}.ping`;

export interface ServiceDefinition<S extends ServiceName> {
  service: S;
  env: CommonEnv;
  /** Port of the /health and /metrics server; 0 picks a free one, null serves none (the gateway has its own). */
  opsPort: number | null;
  opsHost?: string;
  /**
   * Builds the service: open its resources, return its command handlers (all but the ping, which the
   * kit answers) and what to close on shutdown. Runs after the bus is connected.
   */
  start(ctx: { bus: Bus; log: Logger; env: CommonEnv }): Promise<{
    handlers: Omit<CommandHandlers<S>, PingName<S>>;
    /** Named checks of its own dependencies for ping and /health; a thrown error marks it degraded. */
    checks?: () => Promise<Record<string, string>>;
    /** Subscriptions and other consumers to start once the command handlers are in place. */
    afterStart?: () => Promise<void>;
    /** Closes the service's own resources after the bus has drained. */
    stop?: () => Promise<void>;
    /** After the service stopped taking messages, before the bus closes: hands over in-flight work (the bus still publishes and replies). */
    drain?: () => Promise<void>;
  }>;
}

export interface RunningService {
  bus: Bus;
  log: Logger;
  opsPort?: number;
  /** Stops consuming, finishes in-flight work, closes everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The composition root every service shares: telemetry → bus → handlers (+ ping) → ops server →
 * signal handling. SIGTERM/SIGINT stop consuming, let in-flight handlers finish, and exit 0.
 */
export async function runService<S extends ServiceName>(def: ServiceDefinition<S>, opts: { exitOnSignal?: boolean } = {}): Promise<RunningService> {
  const { env, service } = def;
  const log = createLogger(service, { level: env.LOG_LEVEL });
  startTracing({ service, version: VERSION, otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT });
  startMetrics(service, env.INSTANCE_ID);
  const startedAt = Date.now();

  const bus = await Bus.connect({
    url: env.RABBITMQ_URL,
    service,
    instanceId: env.INSTANCE_ID,
    logger: log,
    prefetch: env.BUS_PREFETCH,
    requestTimeoutMs: env.BUS_REQUEST_TIMEOUT_MS,
    queueType: env.BUS_QUEUE_TYPE,
    secret: env.CODEAGENT_BUS_SECRET,
  });
  let built: Awaited<ReturnType<ServiceDefinition<S>['start']>>;
  try {
    built = await def.start({ bus, log, env });
  } catch (err) {
    await bus.close(0).catch(() => undefined);
    throw err;
  }

  const pong = async (): Promise<PongV1> => {
    let checks: Record<string, string> | undefined;
    let status: PongV1['status'] = 'ok';
    try {
      checks = await built.checks?.();
    } catch (err) {
      status = 'degraded';
      checks = { error: (err as Error).message };
    }
    return { service, instanceId: env.INSTANCE_ID, status, uptimeSeconds: (Date.now() - startedAt) / 1000, version: VERSION, checks };
  };
  const handlers = { ...built.handlers, [`${service}.ping`]: pong } as unknown as CommandHandlers<S>;
  await bus.handleCommands(service, handlers);
  await built.afterStart?.();

  let ops: OpsServer | undefined;
  if (def.opsPort !== null) {
    ops = await startOpsServer({
      host: def.opsHost ?? env.OPS_HOST,
      port: def.opsPort,
      health: async () => {
        const p = await pong();
        const ok = bus.isConnected && p.status === 'ok';
        return { ok, body: { ...p, bus: bus.isConnected ? 'connected' : 'reconnecting' } };
      },
    });
  }
  await bus.publish('service.started', { service, instanceId: env.INSTANCE_ID }).catch(() => undefined);
  log.info({ instanceId: env.INSTANCE_ID, opsPort: ops?.port }, 'service started');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping: no new messages, finishing in-flight work');
      // Said if the broker is there to hear it; a publish waits for a reconnect otherwise.
      await within(bus.publish('service.stopping', { service, instanceId: env.INSTANCE_ID }), 2_000);
      await bus.stopConsuming();
      await built.drain?.();
      await bus.close();
      await built.stop?.();
      await ops?.close();
      await stopTracing().catch(() => undefined);
      log.info('stopped');
    })());

  if (opts.exitOnSignal ?? true) {
    // `on`, not `once`: a second signal while draining (a supervisor repeating itself) must not kill
    // the process half-way through its stop.
    const onSignal = (signal: string) => {
      log.info({ signal, alreadyStopping: stopping !== undefined }, 'signal received');
      if (stopping) return;
      // A stop that hangs (a resource that never closes) still ends the process, with a failure.
      setTimeout(() => {
        log.error({ afterMs: STOP_DEADLINE_MS }, 'stop did not finish; exiting');
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      stop().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'unclean stop');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { bus, log, opsPort: ops?.port, stop };
}

/**
 * A service process's `main`: builds the service's definition (which parses its environment and may
 * refuse it) and runs it. What stops it from starting is printed in one line and exits 1.
 */
export function runMain<S extends ServiceName>(service: S, define: () => ServiceDefinition<S>): void {
  // A value given on node's command line wins (0 is V8's own factor; V8 takes `_` for `-` too).
  if (!process.execArgv.some((a) => a.replace(/_/g, '-').startsWith('--heap-growing-percent'))) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  Promise.resolve()
    .then(() => runService(define()))
    .catch((err: Error) => {
      console.error(`${service} failed to start: ${err.message}`);
      process.exit(1);
    });
}
