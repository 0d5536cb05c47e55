import { z } from 'zod';
import { command, event } from '../define';
import { ServiceNames, type ServiceName } from '../topology';

export const PingV1 = z.object({}).strict();
export type PingV1 = z.infer<typeof PingV1>;

/** What a replica says about itself when pinged. */
export const PongV1 = z.object({
  /** Which service answered. */
  service: z.enum(ServiceNames),
  /** Which replica answered (host and pid unless configured). */
  instanceId: z.string(),
  /** `ok`, or `degraded` when a dependency of its own (e.g. the database) fails a check. */
  status: z.enum(['ok', 'degraded']),
  /** Seconds since the replica started. */
  uptimeSeconds: z.number().nonnegative(),
  /** The platform version the replica runs. */
  version: z.string(),
  /** Named checks of its own dependencies, e.g. `{ database: "ok" }`. */
  checks: z.record(z.string(), z.string()).optional(),
});
export type PongV1 = z.infer<typeof PongV1>;

/** A replica came up or is going down. */
export const ServiceLifecycleV1 = z.object({
  /** The service. */
  service: z.enum(ServiceNames),
  /** The replica. */
  instanceId: z.string(),
});
export type ServiceLifecycleV1 = z.infer<typeof ServiceLifecycleV1>;

function ping<S extends ServiceName>(service: S) {
  return command(service, { request: PingV1, reply: PongV1, summary: `is ${service} alive? answered by any replica` });
}

export const healthCommands = {
  'gateway.ping': ping('gateway'),
  'orchestrator.ping': ping('orchestrator'),
  'workspace.ping': ping('workspace'),
  'shell.ping': ping('shell'),
  'analytics.ping': ping('analytics'),
  'project-ci.ping': ping('project-ci'),
} as const;

export const healthEvents = {
  'service.started': event({ schema: ServiceLifecycleV1, summary: 'a replica started consuming' }),
  'service.stopping': event({ schema: ServiceLifecycleV1, summary: 'a replica stopped consuming and is draining' }),
} as const;
